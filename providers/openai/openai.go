// Package openai is the `openai` provider: any OpenAI-compatible API (OpenAI,
// DeepSeek, Mistral, Groq, Together, OpenRouter, xAI, Ollama, vLLM, …).
// Request bodies pass through byte for byte except `model` and, on streams,
// `stream_options.include_usage`; responses pass through unchanged except a
// usage chunk the client did not ask for. The Responses API and the media
// endpoints (images, audio, moderations) pass through as they are (see
// native.go, media.go).
package openai

import (
	"context"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func init() {
	caddy.RegisterModule(Provider{})
}

// DefaultBaseURL is OpenAI's public endpoint.
const DefaultBaseURL = "https://api.openai.com/v1"

// Provider is the `openai` provider. It has no options of its own: the
// endpoint, key and headers are the target's.
type Provider struct{}

// CaddyModule returns the Caddy module information.
func (Provider) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.providers.openai",
		New: func() caddy.Module { return new(Provider) },
	}
}

// ConfigureUpstream fills in OpenAI's endpoint when base_url is unset.
func (Provider) ConfigureUpstream(u *llm.Upstream) error {
	if u.BaseURL == "" {
		u.BaseURL = DefaultBaseURL
	}
	u.BaseURL = strings.TrimRight(u.BaseURL, "/")
	return nil
}

// NewRequest builds `{base_url}/chat/completions` (or completions,
// embeddings) with the client's body and `Authorization: Bearer`.
func (Provider) NewRequest(ctx context.Context, c *llm.Call) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Upstream.BaseURL+c.Op.String(), nil)
	if err != nil {
		return nil, err
	}
	AttachBody(req, c)
	if key := c.Key(); key != "" {
		req.Header["Authorization"] = []string{"Bearer " + key}
	}
	providers.SetExtraHeaders(req, c.Upstream.Header)
	return req, nil
}

var (
	jsonContentType  = []string{"application/json"}
	eventStreamValue = []string{stream.ContentType}
)

// AttachBody sets the passthrough body and content headers on req: the
// client's body with the upstream model and, on streams, the usage request.
func AttachBody(req *http.Request, c *llm.Call) {
	inject := c.Stream && c.Op != llm.OpEmbeddings
	body := c.Body
	if c.Translated {
		body = WithoutHubExtensions(body)
	}
	providers.NewPassthroughBody(body, c.Model, inject).Attach(req)
	req.Header["Content-Type"] = jsonContentType
	if c.Stream {
		req.Header["Accept"] = eventStreamValue
	}
}

// WriteResponse relays the upstream's answer unchanged (see Relay).
func (Provider) WriteResponse(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	return Relay(w, resp, c)
}

// ReadError keeps an OpenAI-compatible error body as it is (see ParseError).
func (Provider) ReadError(resp *http.Response, body []byte, c *llm.Call) *llm.Error {
	return ParseError(resp, body)
}

// Interface guards
var (
	_ providers.Provider   = (*Provider)(nil)
	_ providers.Configurer = (*Provider)(nil)
)
