// Package responses is the OpenAI Responses inbound API, `POST /v1/responses`.
//
// A request whose target speaks the Responses API itself (the `openai` and
// `azure` providers) passes through byte for byte but for its model. For
// any other target it is translated to the hub format (OpenAI chat), with
// the stateless subset of the API (see ToHub), and the hub answer or stream
// is translated back into a Responses `response` object or event stream
// (see encoder).
package responses

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	openaiapi "github.com/llmrouter/caddy-llm-router/apis/openai"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func init() {
	caddy.RegisterModule(API{})
}

// API is the OpenAI Responses API.
type API struct{}

// CaddyModule returns the Caddy module information.
func (API) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.apis.responses",
		New: func() caddy.Module { return new(API) },
	}
}

// Name implements apis.API.
func (API) Name() string { return "responses" }

// Format implements apis.API: Responses errors have the OpenAI shape, so an
// OpenAI upstream's error body reaches the client unchanged.
func (API) Format() string { return llm.FormatOpenAI }

// Match serves /v1/responses, also without /v1.
func (API) Match(path string) (apis.Route, bool) {
	if strings.TrimPrefix(path, "/v1") == "/responses" {
		return apis.Route{Op: llm.OpResponses}, true
	}
	return apis.Route{}, false
}

// forwardedHeaders are the client headers a passthrough sends upstream:
// OpenAI's opt-in to beta behaviour.
var forwardedHeaders = []string{"OpenAI-Beta"}

// Parse reads the top-level fields in one pass over the body: `model` (a
// string, exactly once), `stream`, `max_output_tokens`, the end-user id
// (`user`, else `safety_identifier`, else `prompt_cache_key`, which OpenAI
// documents as their replacements) and the type of `input`.
func (a API) Parse(r *http.Request, body []byte, _ apis.Route) (*apis.Request, *llm.Error) {
	req := &apis.Request{
		API: a, Op: llm.OpResponses, HubOp: llm.OpChat, Body: body, IncludeUsage: true,
		ClientKey: openaiapi.BearerToken(r.Header.Get("Authorization")),
	}
	var (
		models                 int
		user, safety, cacheKey string
		e                      *llm.Error
	)
	gjson.Parse(llm.BytesString(body)).ForEach(func(key, value gjson.Result) bool {
		switch key.Str {
		case "model":
			models++
			if value.Type != gjson.String {
				e = apis.Invalid("model", "'model' must be a string")
				return false
			}
			// Cloned: the model lives on in logs and metrics.
			req.Model = strings.Clone(value.Str)
		case "stream":
			switch value.Type {
			case gjson.True:
				req.Stream = true
			case gjson.False, gjson.Null:
				req.Stream = false
			default:
				e = apis.Invalid("stream", "'stream' must be a boolean")
				return false
			}
		case "max_output_tokens":
			if value.Type == gjson.Number {
				req.MaxTokens = value.Int()
			}
		case "user":
			user = value.Str
		case "safety_identifier":
			safety = value.Str
		case "prompt_cache_key":
			cacheKey = value.Str
		case "input":
			if value.Type != gjson.String && value.Type != gjson.Null && !value.IsArray() {
				e = apis.Invalid("input", "'input' must be a string or an array of input items")
				return false
			}
		}
		return true
	})
	switch {
	case e != nil:
		return nil, e
	case models == 0:
		return nil, apis.Invalid("model", "'model' is required")
	case models > 1:
		// A parser that keeps the last key would see another model than
		// the router routed on.
		return nil, apis.Invalid("model", "'model' is given more than once")
	}
	if e := apis.CheckModel(req.Model); e != nil {
		return nil, e
	}
	switch {
	case user != "":
		req.User = strings.Clone(user)
	case safety != "":
		req.User = strings.Clone(safety)
	case cacheKey != "":
		req.User = strings.Clone(cacheKey)
	}
	for _, name := range forwardedHeaders {
		if v := r.Header.Values(name); len(v) > 0 {
			if req.Header == nil {
				req.Header = make(http.Header, len(forwardedHeaders))
			}
			req.Header[http.CanonicalHeaderKey(name)] = v
		}
	}
	return req, nil
}

// NewEncoder returns the encoder that turns a hub answer into a Responses
// answer (see encoder).
func (API) NewEncoder(w *stream.Writer, req *apis.Request) apis.Encoder {
	return newEncoder(w, req)
}

// WriteError writes e in the OpenAI error shape, which the Responses API
// shares: an OpenAI upstream's own JSON body unchanged when it has one.
func (API) WriteError(w http.ResponseWriter, e *llm.Error) {
	openaiapi.WriteError(w, e)
}

// Interface guards
var (
	_ apis.API        = API{}
	_ apis.Translator = API{}
)
