package azure

import (
	"net/http"
	"net/url"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

// ProxyURL maps a passthrough path to Azure OpenAI's data-plane path,
// `{base_url}/openai{path}`, with the target's api-version unless the
// client gave one (files, batches and the like live there).
func (Provider) ProxyURL(u *llm.Upstream, path, rawQuery string) string {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		q = url.Values{}
	}
	if q.Get("api-version") == "" {
		q.Set("api-version", u.APIVersion)
	}
	return providers.JoinURL(u.BaseURL+"/openai", path, q.Encode())
}

// Authorize sends the key in `api-key`.
func (Provider) Authorize(h http.Header, _ *llm.Upstream, key string) {
	h["Api-Key"] = []string{key}
}

var _ providers.Proxy = Provider{}
