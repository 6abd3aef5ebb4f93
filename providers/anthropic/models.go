package anthropic

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/providers/openai"
)

// listPageSize is the `limit` of each page: the Models API's largest.
const listPageSize = "1000"

// ListModels fetches the Models API, `GET {base_url}/v1/models?limit=1000`
// with `x-api-key` and `anthropic-version`, page after page (`after_id` =
// the previous page's `last_id` while `has_more`), and returns every
// `data[].id`.
func (*Provider) ListModels(ctx context.Context, u *llm.Upstream, client *http.Client) ([]string, error) {
	h := make(http.Header, 2+len(u.Header))
	if u.APIKey != "" {
		h["X-Api-Key"] = []string{u.APIKey}
	}
	version := u.APIVersion
	if version == "" {
		version = DefaultVersion
	}
	h["Anthropic-Version"] = []string{version}
	for k, v := range u.Header {
		h[k] = v
	}
	var out []string
	after := ""
	for range providers.MaxListPages {
		q := url.Values{"limit": {listPageSize}}
		if after != "" {
			q.Set("after_id", after)
		}
		body, err := providers.GetList(ctx, client, u.BaseURL+"/v1/models?"+q.Encode(), h)
		if err != nil {
			return nil, err
		}
		ids, err := openai.ListIDs(body, "/v1/models", nil)
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
		if !gjson.GetBytes(body, "has_more").Bool() {
			return out, nil
		}
		next := gjson.GetBytes(body, "last_id").String()
		if next == "" || next == after {
			return nil, fmt.Errorf("GET /v1/models: has_more without a new last_id")
		}
		after = next
	}
	return nil, fmt.Errorf("GET /v1/models: more than %d pages", providers.MaxListPages)
}

// Interface guards
var _ providers.ModelLister = (*Provider)(nil)
