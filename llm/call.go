package llm

import "net/http"

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
	// Op is the operation: a hub operation, or — when the provider passes
	// the request through in its own wire format (see Native) — the
	// inbound API's own.
	Op Op
	// Body is the request body: the hub (OpenAI) body for hub operations,
	// the client's own body for passthrough. It is shared by all attempts
	// and must not be modified, nor read after the attempt ended.
	Body []byte
	// ClientModel is the model the client asked for.
	ClientModel string
	// Model is the upstream model to call (after aliases and model_map).
	Model string
	// Stream reports whether the answer is to be streamed.
	Stream bool
	// IncludeUsage asks a hub stream to end with its usage chunk
	// (`stream_options.include_usage`): the OpenAI client's own wish, or
	// the router's when another inbound API needs the usage.
	IncludeUsage bool
	// Translated is set when Body is a hub body an inbound API translated
	// from its own format (not an OpenAI client's own request): it may
	// carry the hub's extensions (thinking, thinking_blocks,
	// reasoning_content, top_k, cache_control), which an OpenAI-compatible
	// upstream does not know and must not get.
	Translated bool
	// ClientKey is the client's key when it is to be forwarded upstream
	// (bring your own key), else empty.
	ClientKey string
	// ClientHeader holds the client's request headers a passthrough
	// forwards (e.g. anthropic-version, anthropic-beta); nil otherwise.
	ClientHeader http.Header
	// Upstream is the target being tried.
	Upstream *Upstream
	// MaxResponseBody bounds the upstream answer, or one event of its
	// stream, in bytes (see ReadAll, stream.NewReader); 0 means
	// DefaultMaxResponseBody.
	MaxResponseBody int64
}

// Key returns the credential to send: the target's key, else the client's.
func (c *Call) Key() string {
	if c.Upstream.APIKey != "" {
		return c.Upstream.APIKey
	}
	return c.ClientKey
}
