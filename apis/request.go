package apis

import (
	"net/http"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// Request is one client request as its API parsed it.
type Request struct {
	// API is the inbound API.
	API API
	// Op is the operation the client asked for.
	Op llm.Op
	// HubOp is the hub operation a translated call makes (llm.OpChat,
	// llm.OpEmbeddings, …); zero when the request can only be passed
	// through to a target of its own wire format or answered locally.
	HubOp llm.Op
	// Body is the client's body. It is read-only and lives as long as the
	// request.
	Body []byte
	// Model is the model the client asked for.
	Model string
	// Stream reports whether the client asked for a stream.
	Stream bool
	// IncludeUsage reports whether the client asked for the usage chunk of
	// an OpenAI stream.
	IncludeUsage bool
	// User is the end-user id the body names (OpenAI `user`, Anthropic
	// `metadata.user_id`), for sticky routing.
	User string
	// ClientKey is the key the client presented in its API's way.
	ClientKey string
	// MaxTokens is the most output tokens the request asks for, 0 when it
	// sets no limit.
	MaxTokens int64
	// Header holds the client headers a passthrough forwards (for
	// Anthropic: anthropic-version, anthropic-beta).
	Header http.Header
	// EstimatedPromptTokens is the API's own estimate of the prompt, when
	// it makes one; else PromptTokens estimates from the body.
	EstimatedPromptTokens int64
	// Models is the body's `models` list (OpenRouter's convention): more
	// models to try, in order, before the router's fallback list. The
	// router removes it from the body sent upstream.
	Models []string

	features     Features
	featuresDone bool

	hub     []byte
	hubErr  *llm.Error
	hubDone bool
}

// Hub returns the hub body of the request, converting it once (see
// Translator). For a request of a hub operation it is the body itself.
func (r *Request) Hub() ([]byte, *llm.Error) {
	if r.Op.Hub() {
		return r.Body, nil
	}
	if !r.hubDone {
		r.hubDone = true
		t, ok := r.API.(Translator)
		if !ok || r.HubOp == 0 {
			r.hubErr = &llm.Error{Status: http.StatusBadRequest, Code: "unsupported", Type: "invalid_request_error",
				Message: "no target for this model speaks this API natively and it cannot be translated"}
		} else {
			r.hub, r.hubErr = t.ToHub(r)
		}
	}
	return r.hub, r.hubErr
}
