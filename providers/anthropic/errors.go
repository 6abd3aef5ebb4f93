package anthropic

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
)

// parseError reads a non-2xx answer. Anthropic's errors are
// `{"type":"error","error":{"type":"overloaded_error","message":"…"},"request_id":"…"}`:
// the error's type becomes the OpenAI error's `type` and `code`, its message
// is kept, the status is the upstream's and Retry-After is read; the body
// itself is kept for Anthropic clients (Error.Body, Format anthropic). A
// body that is not in that shape is described with code upstream_error.
func parseError(resp *http.Response, body []byte) *llm.Error {
	trimmed := bytes.TrimSpace(body)
	var e *llm.Error
	if obj := gjson.GetBytes(trimmed, "error"); len(trimmed) > 0 && trimmed[0] == '{' && obj.IsObject() && gjson.ValidBytes(trimmed) {
		e = errorOf(obj, llm.KindHTTP)
		// An Anthropic client gets the body as it came.
		e.Body, e.Format = body, llm.FormatAnthropic
	} else {
		e = &llm.Error{Kind: llm.KindHTTP, Code: "upstream_error", Type: llm.TypeForStatus(resp.StatusCode)}
		e.Message = fmt.Sprintf("upstream returned %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		if text := providers.Snippet(trimmed); text != "" {
			e.Message += ": " + text
		}
	}
	e.Status = resp.StatusCode
	e.RetryAfter = llm.ParseRetryAfter(resp.Header, now())
	return e
}

// errorOf reads Anthropic's error object ({"type":…,"message":…}). The
// strings are copied: obj may point into a reused buffer. The status is the
// one Anthropic documents for the type (a stream's error event has none of
// its own).
func errorOf(obj gjson.Result, kind llm.Kind) *llm.Error {
	typ := strings.Clone(obj.Get("type").Str)
	e := &llm.Error{
		Status:  statusOfType(typ),
		Kind:    kind,
		Type:    typ,
		Code:    typ,
		Message: strings.Clone(obj.Get("message").Str),
	}
	if e.Type == "" {
		e.Type, e.Code = "upstream_error", "upstream_error"
	}
	if e.Message == "" {
		e.Message = "upstream error"
	}
	return e
}

// statusOfType is the HTTP status Anthropic documents for an error type.
func statusOfType(typ string) int {
	switch typ {
	case "invalid_request_error":
		return http.StatusBadRequest
	case "authentication_error":
		return http.StatusUnauthorized
	case "billing_error":
		return http.StatusPaymentRequired
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "api_error":
		return http.StatusInternalServerError
	case "timeout_error":
		return http.StatusGatewayTimeout
	case "overloaded_error":
		return 529
	}
	return http.StatusBadGateway
}
