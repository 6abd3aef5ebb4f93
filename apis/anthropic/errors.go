package anthropic

import (
	"net/http"
	"strconv"
	"time"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// WriteError writes e in Anthropic's error shape,
// `{"type":"error","error":{"type":…,"message":…}}`, with e's status and
// Retry-After. An Anthropic upstream's own error body passes unchanged.
func (API) WriteError(w http.ResponseWriter, e *llm.Error) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Del("Content-Length")
	setRetryAfter(h, e.RetryAfter)
	var body []byte
	if e.Body != nil && e.Format == llm.FormatAnthropic {
		body = e.Body
	} else {
		body = appendError(make([]byte, 0, 256), e)
	}
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

var jsonContentType = []string{"application/json"}

// appendError appends e as an Anthropic error object.
func appendError(b []byte, e *llm.Error) []byte {
	b = append(b, `{"type":"error","error":{"type":"`...)
	b = append(b, errorType(e)...)
	b = append(b, `","message":`...)
	b = llm.AppendString(b, e.Message)
	return append(b, "}}"...)
}

// errorType is the Anthropic error type for e: the one Anthropic uses for
// its status when that status has its own (401, 403, 404, 413, 429, 529),
// else e's own type when it is one of Anthropic's, else invalid_request_error
// for a 4xx, overloaded_error for 503, api_error for other failures.
func errorType(e *llm.Error) string {
	switch e.Status {
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case 529:
		return "overloaded_error"
	}
	switch e.Type {
	case "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
		"request_too_large", "rate_limit_error", "api_error", "overloaded_error":
		return e.Type
	}
	switch s := e.Status; {
	case s == http.StatusServiceUnavailable:
		return "overloaded_error"
	case s >= 400 && s < 500:
		return "invalid_request_error"
	}
	return "api_error"
}

// setRetryAfter sets Retry-After in whole seconds, rounded up, when d > 0.
func setRetryAfter(h http.Header, d time.Duration) {
	if d > 0 {
		secs := int64((d + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
}
