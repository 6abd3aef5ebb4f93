package gemini

import (
	"net/http"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

// ProxyURL maps a passthrough path to `{base_url}/{api_version}{path}` (files,
// cached contents, tuned models, …).
func (Provider) ProxyURL(u *llm.Upstream, path, rawQuery string) string {
	return providers.JoinURL(u.BaseURL+"/"+u.APIVersion, path, rawQuery)
}

// Authorize sends the key in `x-goog-api-key`, never in the URL.
func (Provider) Authorize(h http.Header, _ *llm.Upstream, key string) {
	h["X-Goog-Api-Key"] = []string{key}
}

var _ providers.Proxy = Provider{}
