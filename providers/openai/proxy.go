package openai

import (
	"net/http"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

// ProxyURL maps a passthrough path to `{base_url}{path}` (base_url ends
// in /v1).
func (Provider) ProxyURL(u *llm.Upstream, path, rawQuery string) string {
	return providers.JoinURL(u.BaseURL, path, rawQuery)
}

// Authorize sends the key as `Authorization: Bearer`.
func (Provider) Authorize(h http.Header, _ *llm.Upstream, key string) {
	h["Authorization"] = []string{"Bearer " + key}
}

var _ providers.Proxy = Provider{}
