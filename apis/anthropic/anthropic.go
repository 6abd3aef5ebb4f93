// Package anthropic is the Anthropic Messages inbound API: `POST
// /v1/messages` (streamed or not) and `POST /v1/messages/count_tokens`, also
// without `/v1`, as Claude Code and the Anthropic SDKs send them.
//
// A request for a target of the `anthropic` provider passes through byte
// for byte (the provider's Native capability); for any other target it is
// translated to the hub format (OpenAI chat, see ToHub) and the hub answer
// back into a Messages API message or event stream (see the encoder). Token
// counting passes through to an anthropic target, else it is estimated
// (see Answer). Errors are written in Anthropic's shape.
package anthropic

import (
	"math"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func init() {
	caddy.RegisterModule(API{})
}

// API is the Anthropic Messages API.
type API struct{}

// CaddyModule returns the Caddy module information.
func (API) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.apis.anthropic",
		New: func() caddy.Module { return new(API) },
	}
}

// Name implements apis.API.
func (API) Name() string { return "anthropic" }

// Format implements apis.API.
func (API) Format() string { return llm.FormatAnthropic }

// Match serves /v1/messages and /v1/messages/count_tokens, also without
// /v1. A query string (Claude Code's `?beta=true`) is not part of the path.
func (API) Match(path string) (apis.Route, bool) {
	switch strings.TrimPrefix(path, "/v1") {
	case "/messages":
		return apis.Route{Op: llm.OpMessages}, true
	case "/messages/count_tokens":
		return apis.Route{Op: llm.OpCountTokens}, true
	}
	return apis.Route{}, false
}

// Parse reads the top-level fields in one pass over the body: `model` (a
// string, exactly once), `stream`, `max_tokens` (required for messages, a
// whole number), `metadata.user_id` and `messages` (a required array). The
// client's key is its `x-api-key`, else its `Authorization: Bearer` token
// (Claude Code with ANTHROPIC_AUTH_TOKEN); its `anthropic-version` and
// `anthropic-beta` headers are kept for a passthrough.
func (a API) Parse(r *http.Request, body []byte, rt apis.Route) (*apis.Request, *llm.Error) {
	req := &apis.Request{
		API: a, Op: rt.Op, Body: body, IncludeUsage: true,
		ClientKey: clientKey(r.Header),
		Header:    clientHeader(r.Header),
	}
	if rt.Op == llm.OpMessages {
		req.HubOp = llm.OpChat
	}
	var (
		models              int
		hasMessages, hasMax bool
		e                   *llm.Error
	)
	gjson.Parse(llm.BytesString(body)).ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "model":
			models++
			if v.Type != gjson.String {
				e = apis.Invalid("model", "model: Input should be a valid string")
				return false
			}
			// Cloned: the model lives on in logs and metrics.
			req.Model = strings.Clone(v.Str)
		case "stream":
			switch v.Type {
			case gjson.True:
				req.Stream = true
			case gjson.False, gjson.Null:
				req.Stream = false
			default:
				e = apis.Invalid("stream", "stream: Input should be a valid boolean")
				return false
			}
		case "max_tokens":
			if !wholeNumber(v) || v.Int() < 0 {
				e = apis.Invalid("max_tokens", "max_tokens: Input should be a valid non-negative integer")
				return false
			}
			hasMax = true
			req.MaxTokens = v.Int()
		case "metadata":
			if u := v.Get("user_id"); u.Type == gjson.String {
				req.User = strings.Clone(u.Str)
			}
		case "messages":
			if !v.IsArray() {
				e = apis.Invalid("messages", "messages: Input should be a valid list")
				return false
			}
			hasMessages = true
		}
		return true
	})
	switch {
	case e != nil:
		return nil, e
	case models == 0:
		return nil, apis.Invalid("model", "model: Field required")
	case models > 1:
		// A parser that keeps the last key would see another model than
		// the router routed on.
		return nil, apis.Invalid("model", "model: given more than once")
	case !hasMessages:
		return nil, apis.Invalid("messages", "messages: Field required")
	case rt.Op == llm.OpMessages && !hasMax:
		return nil, apis.Invalid("max_tokens", "max_tokens: Field required")
	}
	if e := apis.CheckModel(req.Model); e != nil {
		return nil, e
	}
	if rt.Op == llm.OpCountTokens {
		req.Stream = false
	}
	return req, nil
}

// wholeNumber reports whether v is a JSON number without a fraction (1000,
// 1e3 and 1000.0 alike, as Anthropic's validation takes them).
func wholeNumber(v gjson.Result) bool {
	return v.Type == gjson.Number && v.Num == math.Trunc(v.Num) && math.Abs(v.Num) < 1<<53
}

// clientKey is the key of an `x-api-key` header, else of an
// `Authorization: Bearer` header.
func clientKey(h http.Header) string {
	if k := h.Get("X-Api-Key"); k != "" {
		return strings.TrimSpace(k)
	}
	const prefix = "Bearer "
	if auth := h.Get("Authorization"); len(auth) > len(prefix) && strings.EqualFold(auth[:len(prefix)], prefix) {
		return strings.TrimSpace(auth[len(prefix):])
	}
	return ""
}

// forwarded are the client headers a passthrough sends on.
var forwarded = []string{"Anthropic-Version", "Anthropic-Beta"}

// clientHeader copies the client's anthropic-version and anthropic-beta
// headers, nil when it sent neither.
func clientHeader(h http.Header) http.Header {
	var out http.Header
	for _, k := range forwarded {
		if v := h[k]; len(v) > 0 {
			if out == nil {
				out = make(http.Header, len(forwarded))
			}
			out[k] = append([]string(nil), v...)
		}
	}
	return out
}

// NewEncoder returns the encoder that turns hub answers into Messages API
// messages or event streams.
func (API) NewEncoder(w *stream.Writer, req *apis.Request) apis.Encoder {
	return newEncoder(w, req)
}

// Interface guards
var (
	_ apis.API        = API{}
	_ apis.Translator = API{}
	_ apis.Local      = API{}
)
