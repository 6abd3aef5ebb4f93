// Package apis defines the inbound APIs of llm_router: the wire formats
// clients speak to it. Each API is one sub-package registering a Caddy
// module in the `http.llm_router.apis` namespace and owns its paths, the
// parsing of its requests (model, stream flag, the client's key from its own
// header), their translation to the hub format (OpenAI chat), its answers,
// errors and streamed events.
//
// The router loads every module of the namespace, so a third party adds an
// inbound API by registering one.
package apis

import (
	"net/http"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// API is one inbound API.
type API interface {
	// Name is the API's name in logs, metrics and spans (`llm_api`):
	// openai, anthropic, responses, gemini.
	Name() string

	// Format is the API's wire format (llm.FormatOpenAI, …): an upstream
	// error body in that format reaches the client unchanged.
	Format() string

	// Match maps a request path (as the handler sees it, with or without
	// its version prefix) to the API's operation; ok is false when the
	// path is not the API's.
	Match(path string) (rt Route, ok bool)

	// Parse reads and checks a request whose whole body (valid JSON,
	// nesting bounded) is given. It must not keep r.
	Parse(r *http.Request, body []byte, rt Route) (*Request, *llm.Error)

	// NewEncoder wraps w for one attempt of a request (the router makes a
	// new one for each retry, so nothing a failed attempt wrote carries
	// over): a provider writes its answer to the encoder in the hub format
	// and the client receives it in the API's own.
	NewEncoder(w *stream.Writer, req *Request) Encoder

	// WriteError writes e, not streamed, in the API's error shape.
	WriteError(w http.ResponseWriter, e *llm.Error)
}

// Route is what a path says about a request.
type Route struct {
	// Op is the operation.
	Op llm.Op
	// Model is the model named in the path (Gemini), else empty.
	Model string
	// Stream is set when the path asks for a stream (Gemini's
	// streamGenerateContent).
	Stream bool
	// Form is set when the operation takes multipart/form-data bodies
	// (uploads: OpenAI's image edits, transcriptions, translations). For
	// a request whose Content-Type says so, the router skips its JSON
	// checks and Parse reads the form.
	Form bool
}

// Encoder is the client side of one request as a provider sees it: what is
// written to it in the hub format reaches the client in the API's format.
type Encoder interface {
	llm.ResponseWriter

	// Finish completes the answer once the provider's WriteResponse
	// returned without error (an encoder may hold a whole answer until
	// then). An error means nothing reached the client.
	Finish() error

	// StreamError ends a committed stream with the API's error event (for
	// passthrough streams too, whose bytes did not pass the encoder).
	StreamError(e *llm.Error)
}

// Translator is implemented by APIs whose operations are not the hub's:
// ToHub returns the hub body of a request (an OpenAI chat or embeddings
// body) for targets that do not speak the API natively. The router calls it
// at most once per request, only when such a target is tried.
type Translator interface {
	ToHub(req *Request) ([]byte, *llm.Error)
}

// Local is implemented by APIs that can answer some operations themselves
// when no candidate speaks them natively (token counting): Answer writes
// the answer and reports true, or reports false to let the router proceed.
type Local interface {
	Answer(w http.ResponseWriter, req *Request) bool
}

// CostSplicer is implemented by APIs whose answers carry a usage object,
// for `usage_cost`: CostFilter returns the filter that splices the cost of
// one attempt of req into the usage objects of its answer (see
// CostFilter), pricing them with cost, or nil when req's answers carry no
// usage (token counting). native reports whether the attempt passes the
// request through, so that the answer is the upstream's own rather than
// the API's encoder's.
type CostSplicer interface {
	CostFilter(req *Request, native bool, cost CostFunc) *CostFilter
}

// CostFunc prices a usage object of the current attempt's answer.
type CostFunc func(u llm.Usage) Cost

// Cost is what CostFunc says of one usage object.
type Cost struct {
	// USD is the cost at the answering target's price; Priced is false
	// when the target has no price for the model (no `cost` is added).
	USD    float64
	Priced bool
	// Remaining is the key's budget remainder once the request settles at
	// USD; HasBudget is false when the request's key has no budget.
	Remaining float64
	HasBudget bool
}

// ModelLister is implemented by APIs with a models list of their own shape
// (Gemini's `GET /v1beta/models`). MatchModels reports whether path is that
// list (id empty) or one entry of it.
type ModelLister interface {
	MatchModels(path string) (id string, ok bool)
	AppendModels(b []byte, models []Model) []byte
	AppendModel(b []byte, m Model) []byte
}

// Model is one entry of a models list.
type Model struct {
	ID      string
	OwnedBy string
	Created int64
}

// Replayer is implemented by APIs whose answers the response cache may
// serve in the other form than the one it stored: `stream` is not part of
// a request's cache key (SPEC 12), so a streamed request may find a whole
// answer stored, and the reverse. The cache calls it only for complete
// 200 answers that the API itself wrote to an earlier, identical request.
type Replayer interface {
	// AnswerToEvents renders answer — a whole answer, as a request that
	// was not streamed received it — as the event stream that req, a
	// streamed request, receives.
	AnswerToEvents(req *Request, answer []byte) ([]byte, error)

	// EventsToAnswer assembles events — a complete event stream, as a
	// streamed request received it — into the whole answer that req, not
	// streamed, receives. u is the answer's usage, for a stream that did
	// not carry it.
	EventsToAnswer(req *Request, events []byte, u llm.Usage) ([]byte, error)

	// ReplayEvents returns a stored event stream as streamed req receives
	// it: the stream itself, unless it depends on members of the request
	// that are not part of the key (OpenAI's
	// stream_options.include_usage decides whether the usage chunk is
	// sent). u is the answer's usage.
	ReplayEvents(req *Request, events []byte, u llm.Usage) []byte
}
