// Package mock is the `mock` provider: it answers from inside the process,
// with no network and no key, in OpenAI's wire format. It serves the offline
// quickstart, client integration tests and load tests of the gateway alone.
package mock

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/providers/openai"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func init() {
	caddy.RegisterModule(Provider{})
}

// Provider is the `mock` provider. Chat and completions echo the last user
// message (or Response), streamed word by word; configured tool calls are
// answered when the request offers those tools; embeddings are
// deterministic unit vectors; usage counts words.
type Provider struct {
	// Response is the text every answer contains. Default: the exact text of
	// the last user message (chat) or of the prompt (completions).
	Response string `json:"response,omitempty"`

	// Delay is the pause between streamed words. Default: 0.
	Delay caddy.Duration `json:"delay,omitempty"`

	// ToolCalls are answered, as parallel tool calls, when the request
	// offers tools of their names and its last message is not a tool
	// result; after a tool result the answer is that result's text. So an
	// agent loop runs offline.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`

	// Models are what the mock lists when its target has `discover`
	// (SPEC 11), without the network. Default: none.
	Models []string `json:"models,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Provider) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.providers.mock",
		New: func() caddy.Module { return new(Provider) },
	}
}

// ConfigureUpstream accepts a target with no base_url.
func (Provider) ConfigureUpstream(*llm.Upstream) error { return nil }

var errNoNetwork = errors.New("the mock provider sends no requests")

// NewRequest is never used: Send answers instead.
func (Provider) NewRequest(context.Context, *llm.Call) (*http.Request, error) {
	return nil, errNoNetwork
}

// Send answers the call in OpenAI's wire format.
func (p *Provider) Send(ctx context.Context, c *llm.Call) (*http.Response, error) {
	resp := &http.Response{
		StatusCode: http.StatusOK,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header, 1),
	}
	switch {
	case c.Op == llm.OpEmbeddings:
		body, err := embeddings(c)
		if err != nil {
			return errorResponse(err), nil
		}
		setJSON(resp, body)
	case c.Stream:
		resp.Header["Content-Type"] = []string{stream.ContentType}
		resp.ContentLength = -1
		resp.Body = newEventStream(ctx, p.answer(c), time.Duration(p.Delay))
	default:
		setJSON(resp, p.answer(c).json())
	}
	return resp, nil
}

// WriteResponse relays the answer like any OpenAI-compatible response.
func (Provider) WriteResponse(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	return openai.Relay(w, resp, c)
}

// ReadError reads the mock's own 400s.
func (Provider) ReadError(resp *http.Response, body []byte, _ *llm.Call) *llm.Error {
	return openai.ParseError(resp, body)
}

// Interface guards
var (
	_ providers.Provider    = (*Provider)(nil)
	_ providers.Sender      = (*Provider)(nil)
	_ providers.Configurer  = (*Provider)(nil)
	_ caddyfile.Unmarshaler = (*Provider)(nil)
	_ caddy.Validator       = (*Provider)(nil)
)
