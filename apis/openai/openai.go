// Package openai is the OpenAI inbound API: chat completions, legacy
// completions and embeddings, the hub format itself, and the media
// endpoints (images, audio, moderations). Hub requests pass to hub
// providers as they are; answers reach the client as the provider wrote
// them. Media requests have no hub equivalent: they are passed through
// byte for byte to the providers that speak them (llm.Op.Media), their
// multipart/form-data uploads read without being decoded (see media.go).
package openai

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func init() {
	caddy.RegisterModule(API{})
}

// API is the OpenAI chat completions, completions, embeddings and media
// API.
type API struct{}

// CaddyModule returns the Caddy module information.
func (API) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.apis.openai",
		New: func() caddy.Module { return new(API) },
	}
}

// Name implements apis.API.
func (API) Name() string { return "openai" }

// Format implements apis.API.
func (API) Format() string { return llm.FormatOpenAI }

// Match serves /v1/chat/completions, /v1/completions, /v1/embeddings and
// the media endpoints (/v1/images/generations, /v1/images/edits,
// /v1/audio/speech, /v1/audio/transcriptions, /v1/audio/translations,
// /v1/moderations), also without /v1.
func (API) Match(path string) (apis.Route, bool) {
	switch strings.TrimPrefix(path, "/v1") {
	case "/chat/completions":
		return apis.Route{Op: llm.OpChat}, true
	case "/completions":
		return apis.Route{Op: llm.OpCompletions}, true
	case "/embeddings":
		return apis.Route{Op: llm.OpEmbeddings}, true
	case "/images/generations":
		return apis.Route{Op: llm.OpImageGeneration}, true
	case "/images/edits":
		return apis.Route{Op: llm.OpImageEdit, Form: true}, true
	case "/audio/speech":
		return apis.Route{Op: llm.OpSpeech}, true
	case "/audio/transcriptions":
		return apis.Route{Op: llm.OpTranscription, Form: true}, true
	case "/audio/translations":
		return apis.Route{Op: llm.OpTranslation, Form: true}, true
	case "/moderations":
		return apis.Route{Op: llm.OpModeration}, true
	}
	return apis.Route{}, false
}

// Parse reads the top-level fields in one pass over the body: `model` (a
// string, exactly once), `stream`, `stream_options.include_usage`, `user`,
// the output limit, and `messages` (required for chat). A media request
// has no hub operation; speech is streamed when its `stream_format` is
// "sse". A multipart/form-data upload is read by parseForm.
func (a API) Parse(r *http.Request, body []byte, rt apis.Route) (*apis.Request, *llm.Error) {
	if rt.Form && llm.IsForm(r.Header.Get("Content-Type")) {
		return a.parseForm(r, body, rt)
	}
	req := &apis.Request{API: a, Op: rt.Op, HubOp: rt.Op, Body: body, ClientKey: BearerToken(r.Header.Get("Authorization"))}
	if rt.Op.Media() {
		req.HubOp = 0
	}
	src := llm.BytesString(body)
	var (
		models      int
		hasMessages bool
		e           *llm.Error
	)
	gjson.Parse(src).ForEach(func(key, value gjson.Result) bool {
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
			if rt.Op == llm.OpSpeech {
				break // speech streams by its stream_format
			}
			switch value.Type {
			case gjson.True:
				req.Stream = true
			case gjson.False, gjson.Null:
				req.Stream = false
			default:
				e = apis.Invalid("stream", "'stream' must be a boolean")
				return false
			}
		case "stream_options":
			req.IncludeUsage = value.Get("include_usage").Type == gjson.True
		case "stream_format":
			req.Stream = rt.Op == llm.OpSpeech && value.Str == "sse"
		case "user":
			req.User = strings.Clone(value.Str)
		case "max_tokens", "max_completion_tokens":
			if value.Type == gjson.Number && value.Int() > req.MaxTokens {
				req.MaxTokens = value.Int()
			}
		case "messages":
			if !value.IsArray() {
				e = apis.Invalid("messages", "'messages' must be an array")
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
		return nil, apis.Invalid("model", "'model' is required")
	case models > 1:
		// A parser that keeps the last key would see another model than
		// the router routed on.
		return nil, apis.Invalid("model", "'model' is given more than once")
	case rt.Op == llm.OpChat && !hasMessages:
		return nil, apis.Invalid("messages", "'messages' is required")
	}
	if e := apis.CheckModel(req.Model); e != nil {
		return nil, e
	}
	switch rt.Op {
	case llm.OpEmbeddings, llm.OpModeration:
		req.Stream = false
	}
	return req, nil
}

// BearerToken returns the token of an `Authorization: Bearer` header.
func BearerToken(auth string) string {
	const prefix = "Bearer "
	if len(auth) > len(prefix) && strings.EqualFold(auth[:len(prefix)], prefix) {
		return strings.TrimSpace(auth[len(prefix):])
	}
	return ""
}

// NewEncoder returns w itself, in effect: the hub format is OpenAI's.
func (API) NewEncoder(w *stream.Writer, _ *apis.Request) apis.Encoder {
	return encoder{w}
}

// WriteError writes e in the OpenAI error shape: an OpenAI-compatible
// upstream's own JSON body unchanged when it has one, else the router's.
func (API) WriteError(w http.ResponseWriter, e *llm.Error) {
	WriteError(w, e)
}

// WriteError writes e in the OpenAI error shape (see API.WriteError).
func WriteError(w http.ResponseWriter, e *llm.Error) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Del("Content-Length")
	SetRetryAfter(h, e.RetryAfter)
	var body []byte
	if e.Body != nil && e.Format == llm.FormatOpenAI {
		body = e.Body
	} else {
		body = e.AppendJSON(make([]byte, 0, 256))
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// SetRetryAfter sets Retry-After in whole seconds, rounded up, when d > 0.
func SetRetryAfter(h http.Header, d time.Duration) {
	if d > 0 {
		secs := int64((d + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
}

var jsonContentType = []string{"application/json"}

// encoder passes the hub answer through.
type encoder struct{ *stream.Writer }

func (encoder) Finish() error { return nil }

// StreamError ends the stream with `data: {"error":…}` and no [DONE], so
// clients see that it failed.
func (e encoder) StreamError(err *llm.Error) {
	_ = stream.WriteData(e.Writer, err.AppendJSON(make([]byte, 0, 256)))
	_ = e.Flush()
}

// Interface guards
var (
	_ apis.API     = API{}
	_ apis.Encoder = encoder{}
)
