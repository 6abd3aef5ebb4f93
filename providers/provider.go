// Package providers defines what an upstream wire format implements to be
// served by llm_router. Each wire format is one sub-package registering a
// Caddy module in the `http.llm_router.providers` namespace; OpenAI-compatible
// vendors are configuration of the `openai` provider, not code.
package providers

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmrouter/caddy-llm-router/stream"
)

// Provider serves one attempt of a client request in one upstream wire
// format. The router builds the request, sends it with the target's
// transport, and hands the response back: 2xx to WriteResponse, anything
// else to ReadError.
type Provider interface {
	// NewRequest builds the upstream HTTP request for call.
	NewRequest(ctx context.Context, call *Call) (*http.Request, error)

	// WriteResponse relays a 2xx upstream response to the client in OpenAI
	// format and returns the usage it carried. An error returned while w is
	// not yet committed lets the router retry; after commit the router ends
	// the stream with an SSE error event.
	WriteResponse(w *stream.Writer, resp *http.Response, call *Call) (Usage, error)

	// ReadError turns a non-2xx upstream response, whose body (capped) is
	// given, into an *Error.
	ReadError(resp *http.Response, body []byte, call *Call) *Error
}

// Checker is implemented by providers that cannot serve every endpoint or
// parameter. Check returns an *Error with code "unsupported" (see
// Unsupported) naming the target and the parameter, or nil. A candidate that
// fails Check is skipped without an attempt.
type Checker interface {
	Check(call *Call) error
}

// Sender is implemented by providers that answer without the network (such
// as `mock`): the router calls Send instead of NewRequest and the transport.
type Sender interface {
	Send(ctx context.Context, call *Call) (*http.Response, error)
}

// Configurer is implemented by providers that fill defaults into, or
// validate, the upstream of a target at provision time (e.g. a default
// base_url, or azure requiring one).
type Configurer interface {
	ConfigureUpstream(u *Upstream) error
}

// CaddyfileOptions is implemented by providers with subdirectives of their
// own inside a `target` block (e.g. `mock_response`). The dispenser is
// positioned on the subdirective; handled is false when it is not one of the
// provider's.
type CaddyfileOptions interface {
	UnmarshalTargetOption(d *caddyfile.Dispenser) (handled bool, err error)
}

// Upstream is one configured target as a provider sees it.
type Upstream struct {
	// Name is the target's name, used in error messages.
	Name string
	// BaseURL is the endpoint, without a trailing slash.
	BaseURL string
	// APIKey is the target's key, already expanded; empty means the
	// client's key (Call.ClientKey) is forwarded, if any.
	APIKey string
	// APIVersion is the provider's version setting (azure api-version,
	// anthropic-version, gemini path version); empty means its default.
	APIVersion string
	// Header holds extra request headers to send on every request.
	Header http.Header
}

// Call is one attempt of a client request on one target.
type Call struct {
	// Endpoint is the operation the client asked for.
	Endpoint Endpoint
	// Body is the client's JSON request body. It is shared by all attempts
	// and must not be modified.
	Body []byte
	// ClientModel is the `model` the client sent.
	ClientModel string
	// Model is the upstream model to call (after aliases and model_map).
	Model string
	// Stream is the client's `stream` flag.
	Stream bool
	// IncludeUsage is the client's `stream_options.include_usage`.
	IncludeUsage bool
	// ClientKey is the client's bearer key when it is to be forwarded
	// upstream (bring your own key), else empty.
	ClientKey string
	// Upstream is the target being tried.
	Upstream *Upstream
	// Unread, when set, counts readers of Body handed to the transport that
	// have not yet been read to the end (see PassthroughBody.Track): the
	// router reuses Body's memory only when it is zero, because a transport
	// can go on writing a body after the response arrived.
	Unread *atomic.Int32
}

// Key returns the credential to send: the target's key, else the client's.
func (c *Call) Key() string {
	if c.Upstream.APIKey != "" {
		return c.Upstream.APIKey
	}
	return c.ClientKey
}

// Usage is the token usage of one response.
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
}

// Endpoint is the OpenAI API operation a client asked for.
type Endpoint uint8

// The endpoints of the inbound API.
const (
	ChatCompletions Endpoint = iota + 1
	Completions
	Embeddings
)

// String returns the endpoint's path below /v1.
func (e Endpoint) String() string {
	switch e {
	case ChatCompletions:
		return "/chat/completions"
	case Completions:
		return "/completions"
	case Embeddings:
		return "/embeddings"
	}
	return "unknown"
}
