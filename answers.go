package llmrouter

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/llmrouter/caddy-llm-router/apis"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// fail answers after every candidate failed or none could be tried.
func (x *exchange) fail() {
	if x.attempts == 0 && x.req.HubOp == 0 {
		// An operation no candidate speaks natively and that has no hub
		// equivalent (token counting): the API may answer it itself.
		if l, ok := x.api.(apis.Local); ok && l.Answer(x.w, x.req.Request) {
			x.status = x.w.Status()
			return
		}
	}
	switch {
	case x.budgetRefused != nil && x.last == nil:
		x.answerFailure(x.budgetRefused)
	case x.last != nil:
		x.answerFailure(x.last)
	case x.full:
		x.answerFailure(errAllBusy())
	case x.unsupported != nil:
		x.answerFailure(x.unsupported)
	case x.forbidden:
		x.answerFailure(errModelNotAllowed(x.keyName, x.req.Model))
	case x.noneQualified:
		e := routerError(http.StatusBadRequest, "unsupported", "no member of model %q accepts this request (their `when` conditions exclude it)", x.req.Model)
		e.Param = "model"
		x.answerFailure(e)
	default:
		x.answerFailure(routerError(http.StatusBadGateway, "upstream_error", "no target could be tried for model %q", x.req.Model))
	}
}

// answerFailure writes the client's answer for failure e (SPEC 4.3): an
// upstream 4xx as it came, a 5xx or connection error as 502, a timeout as
// 504.
func (x *exchange) answerFailure(e *llm.Error) {
	out := e
	switch {
	case e.Kind == llm.KindLocal:
	case e.Kind == llm.KindHTTP && e.Status >= 400 && e.Status < 500:
		copyErrorHeaders(x.w.Header(), e.Header)
	case e.Kind == llm.KindTimeout:
		out = &llm.Error{Status: http.StatusGatewayTimeout, Code: "upstream_timeout", Type: "timeout_error", Message: e.Message}
	default:
		out = &llm.Error{Status: http.StatusBadGateway, Code: "upstream_error", Type: "upstream_error", Message: upstreamMessage(x.lastTarget, e)}
	}
	x.w.OnCommit = func(w *stream.Writer) {
		x.status = w.Status()
		if x.attempts > 0 {
			x.setRouteHeaders(w.Header())
		}
		x.setKeyHeaders(w.Header())
	}
	x.api.WriteError(x.w, out)
}

// upstreamMessage describes an upstream failure for a 502, naming the target.
func upstreamMessage(t *Target, e *llm.Error) string {
	if t == nil || strings.HasPrefix(e.Message, "target ") {
		return e.Message
	}
	if e.Kind == llm.KindHTTP {
		return fmt.Sprintf("target %q: upstream returned %d: %s", t.Name, e.Status, e.Message)
	}
	return fmt.Sprintf("target %q: %s", t.Name, e.Message)
}

// writeStreamError ends a committed stream with the API's error event.
func (x *exchange) writeStreamError(e *llm.Error) {
	if e.Relayed {
		return // the client has it already, in its own format
	}
	out := *e
	out.Body = nil
	switch e.Kind {
	case llm.KindTimeout:
		out.Code, out.Type = "upstream_timeout", "timeout_error"
	case llm.KindStream:
		// A provider's own in-stream error keeps its type and code.
	default:
		out.Code, out.Type = "upstream_error", "upstream_error"
		out.Message = upstreamMessage(x.lastTarget, e)
	}
	x.enc.StreamError(&out)
}

// setRouteHeaders adds X-LLM-Target, X-LLM-Model and X-LLM-Attempts and the
// matching placeholders, naming the last target tried.
func (x *exchange) setRouteHeaders(h http.Header) {
	vals := make([]string, 3) // one allocation for the three headers
	vals[0], vals[1], vals[2] = x.lastTarget.Name, x.lastModel, strconv.Itoa(x.attempts)
	h["X-Llm-Target"] = vals[0:1:1]
	h["X-Llm-Model"] = vals[1:2:2]
	h["X-Llm-Attempts"] = vals[2:3:3]
	if x.repl != nil {
		x.repl.Set("http.llm_router.target", x.lastTarget.Name)
		x.repl.Set("http.llm_router.model", x.lastModel)
		x.repl.Set("http.llm_router.attempts", x.attempts)
	}
}

// copyErrorHeaders passes on the few upstream headers of an error answer
// that a client may use — Retry-After, request ids and rate-limit figures —
// and nothing else: an upstream may echo a key in any other header, and the
// access log records them all. The router writes Content-Type itself.
func copyErrorHeaders(dst, src http.Header) {
	for k, v := range src {
		if errorHeaderAllowed(k) {
			dst[k] = v
		}
	}
}

func errorHeaderAllowed(canonical string) bool {
	switch canonical {
	case "Retry-After", "Retry-After-Ms", "X-Request-Id", "Request-Id", "Openai-Request-Id", "X-Goog-Request-Id", "Apim-Request-Id":
		return true
	}
	lower := strings.ToLower(canonical)
	return strings.HasPrefix(lower, "x-ratelimit-") || strings.HasPrefix(lower, "anthropic-ratelimit-")
}
