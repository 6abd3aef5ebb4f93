package openai

import (
	"context"
	"fmt"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

// ListModels fetches `GET {base_url}/models` (OpenAI's list, one page, as
// every OpenAI-compatible server answers it) with `Authorization: Bearer`
// and returns its `data[].id`.
func (Provider) ListModels(ctx context.Context, u *llm.Upstream, client *http.Client) ([]string, error) {
	h := make(http.Header, 1+len(u.Header))
	if u.APIKey != "" {
		h["Authorization"] = []string{"Bearer " + u.APIKey}
	}
	for k, v := range u.Header {
		h[k] = v
	}
	body, err := providers.GetList(ctx, client, u.BaseURL+"/models", h)
	if err != nil {
		return nil, err
	}
	return ListIDs(body, "/models", nil)
}

// ListIDs reads the `id` of every entry of a list's `data` array, keeping
// those keep accepts (all when keep is nil); path names the endpoint in
// the error of a body that is no such list.
func ListIDs(body []byte, path string, keep func(entry gjson.Result) bool) ([]string, error) {
	data := gjson.GetBytes(body, "data")
	if !data.IsArray() {
		return nil, fmt.Errorf("GET %s: the answer is not a models list", path)
	}
	var out []string
	data.ForEach(func(_, m gjson.Result) bool {
		if id := m.Get("id"); id.Type == gjson.String && (keep == nil || keep(m)) {
			out = append(out, id.Str)
		}
		return true
	})
	return out, nil
}

// Interface guards
var _ providers.ModelLister = Provider{}
