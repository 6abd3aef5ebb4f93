package anthropic

import (
	"net/http"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

// ProxyURL maps a passthrough path to `{base_url}/v1{path}` (the Messages
// Batches, Files and Models APIs live under /v1).
func (*Provider) ProxyURL(u *llm.Upstream, path, rawQuery string) string {
	return providers.JoinURL(u.BaseURL+"/v1", path, rawQuery)
}

// Authorize sends the key in `x-api-key` and, unless the client chose one,
// the target's `anthropic-version`.
func (*Provider) Authorize(h http.Header, u *llm.Upstream, key string) {
	h["X-Api-Key"] = []string{key}
	if h.Get("Anthropic-Version") == "" {
		v := u.APIVersion
		if v == "" {
			v = DefaultVersion
		}
		h["Anthropic-Version"] = []string{v}
	}
}

var _ providers.Proxy = (*Provider)(nil)
