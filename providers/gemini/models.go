package gemini

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

// listPageSize is the `pageSize` of each page: models.list's largest.
const listPageSize = "1000"

// ListModels fetches models.list, `GET {base_url}/{api_version}/models?
// pageSize=1000` with `x-goog-api-key`, page after page (`pageToken` = the
// previous page's `nextPageToken`), and returns the models the router can
// call — those whose `supportedGenerationMethods` include generateContent,
// streamGenerateContent, embedContent or batchEmbedContents (or that list
// no methods) — by their name without the `models/` prefix.
func (Provider) ListModels(ctx context.Context, u *llm.Upstream, client *http.Client) ([]string, error) {
	h := make(http.Header, 1+len(u.Header))
	if u.APIKey != "" {
		h["X-Goog-Api-Key"] = []string{u.APIKey}
	}
	for k, v := range u.Header {
		h[k] = v
	}
	path := "/" + u.APIVersion + "/models"
	var out []string
	token := ""
	for range providers.MaxListPages {
		q := url.Values{"pageSize": {listPageSize}}
		if token != "" {
			q.Set("pageToken", token)
		}
		body, err := providers.GetList(ctx, client, u.BaseURL+path+"?"+q.Encode(), h)
		if err != nil {
			return nil, err
		}
		models := gjson.GetBytes(body, "models")
		if models.Exists() && !models.IsArray() || !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
			return nil, fmt.Errorf("GET %s: the answer is not a models list", path)
		}
		models.ForEach(func(_, m gjson.Result) bool {
			name := strings.TrimPrefix(m.Get("name").String(), "models/")
			if name != "" && callable(m.Get("supportedGenerationMethods")) {
				out = append(out, name)
			}
			return true
		})
		next := gjson.GetBytes(body, "nextPageToken").String()
		if next == "" {
			return out, nil
		}
		if next == token {
			return nil, fmt.Errorf("GET %s: the same nextPageToken twice", path)
		}
		token = next
	}
	return nil, fmt.Errorf("GET %s: more than %d pages", path, providers.MaxListPages)
}

// callable reports whether a model's supportedGenerationMethods include a
// method the router calls (or are not given).
func callable(methods gjson.Result) bool {
	if !methods.IsArray() {
		return true
	}
	ok := false
	methods.ForEach(func(_, m gjson.Result) bool {
		switch m.Str {
		case "generateContent", "streamGenerateContent", "embedContent", "batchEmbedContents":
			ok = true
			return false
		}
		return true
	})
	return ok
}

// Interface guards
var _ providers.ModelLister = Provider{}
