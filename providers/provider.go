// Package providers defines what an upstream wire format implements to be
// served by llm_router. Each wire format is one sub-package registering a
// Caddy module in the `http.llm_router.providers` namespace; OpenAI-compatible
// vendors are configuration of the `openai` provider, not code.
package providers

import (
	"context"
	"net/http"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// Provider serves one attempt of a client request in one upstream wire
// format, for the hub operations (llm.Op.Hub). The router builds the
// request, sends it with the target's transport, and hands the response
// back: 2xx to WriteResponse, anything else to ReadError.
//
// The router owns the request body's memory: it keeps it alive until the
// transport has closed every request body built from it, whatever the
// provider does, so a provider may hand out slices of Call.Body freely.
type Provider interface {
	// NewRequest builds the upstream HTTP request for call.
	NewRequest(ctx context.Context, call *llm.Call) (*http.Request, error)

	// WriteResponse relays a 2xx upstream response to w in the hub format
	// (OpenAI chat completions: a JSON answer, or chat.completion.chunk
	// events ending with `data: [DONE]`) and returns the usage it carried.
	// An error returned while w is not yet committed lets the router
	// retry; after commit the router ends the stream with an error event.
	WriteResponse(w llm.ResponseWriter, resp *http.Response, call *llm.Call) (llm.Usage, error)

	// ReadError turns a non-2xx upstream response, whose body (capped) is
	// given, into an *llm.Error.
	ReadError(resp *http.Response, body []byte, call *llm.Call) *llm.Error
}

// Native is implemented by providers whose own wire format is that of an
// inbound API besides OpenAI chat (Anthropic Messages, OpenAI Responses,
// Gemini), or that serve the OpenAI media operations (llm.Op.Media:
// images, audio, moderations, which only pass through). For the operations it Speaks, the router passes the client's
// request through: NewNativeRequest sends Call.Body upstream unchanged but
// for the model, and RelayNative copies the answer or event stream back
// byte for byte, reading its usage on the way. ReadError is used for its
// failures too; an error body in the format of op is kept in Error.Body.
type Native interface {
	Speaks(op llm.Op) bool
	NewNativeRequest(ctx context.Context, call *llm.Call) (*http.Request, error)
	RelayNative(w llm.ResponseWriter, resp *http.Response, call *llm.Call) (llm.Usage, error)
}

// Checker is implemented by providers that cannot serve every hub endpoint
// or parameter. Check returns an *llm.Error with code "unsupported" (see
// llm.Unsupported) naming the target and the parameter, or nil. A candidate
// that fails Check is skipped without an attempt.
type Checker interface {
	Check(call *llm.Call) error
}

// Sender is implemented by providers that answer without the network (such
// as `mock`): the router calls Send instead of NewRequest and the transport.
type Sender interface {
	Send(ctx context.Context, call *llm.Call) (*http.Response, error)
}

// Configurer is implemented by providers that fill defaults into, or
// validate, the upstream of a target at provision time (e.g. a default
// base_url, or azure requiring one).
type Configurer interface {
	ConfigureUpstream(u *llm.Upstream) error
}

// Proxy is implemented by providers whose API has paths the router does
// not serve itself (files, batches, assistants, vector stores, …), so that
// a target of theirs can be the router's `passthrough` target: ProxyURL
// maps a client path (below /v1) and query to the upstream URL, Authorize
// puts the key in the provider's own auth header. A provider without it is
// proxied to base_url + path with `Authorization: Bearer`.
type Proxy interface {
	ProxyURL(u *llm.Upstream, path, rawQuery string) string
	Authorize(h http.Header, u *llm.Upstream, key string)
}

// ModelLister is implemented by providers that can list the models their
// upstream serves, for targets with `discover` (SPEC 11). ListModels
// fetches the whole list, every page, with the upstream's own auth (u's key,
// version and extra headers) through client, and returns the model names as
// a client asks for them, in the upstream's order. It honours ctx, and its
// errors never hold the key (see ListError).
type ModelLister interface {
	ListModels(ctx context.Context, u *llm.Upstream, client *http.Client) ([]string, error)
}
