package gemini

import (
	"net/http"
	"strconv"
	"time"

	"github.com/llmrouter/caddy-llm-router/llm"
)

var jsonContentType = []string{"application/json; charset=UTF-8"}

// WriteError writes e in Google's error shape (see appendError); a Gemini
// upstream's own error body passes unchanged.
func (API) WriteError(w http.ResponseWriter, e *llm.Error) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Del("Content-Length")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	body := e.Body
	if body == nil || e.Format != llm.FormatGemini {
		body = appendError(make([]byte, 0, 256), e)
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// appendError appends `{"error":{"code":…,"message":…,"status":…}}`, the
// google.rpc.Status Google answers with, its status name chosen by the HTTP
// status (statusName). The router's own code (model_not_found,
// budget_exceeded, …) rides in a google.rpc.ErrorInfo detail as its
// reason, and a Retry-After in a google.rpc.RetryInfo, as Google sends it.
func appendError(b []byte, e *llm.Error) []byte {
	status := e.Status
	if status == 0 {
		status = http.StatusBadGateway
	}
	b = append(b, `{"error":{"code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"message":`...)
	b = llm.AppendString(b, e.Message)
	b = append(b, `,"status":"`...)
	b = append(b, statusName(status)...)
	b = append(b, '"')
	reason := reasonOf(e.Code)
	if reason != "" || e.RetryAfter > 0 {
		b = append(b, `,"details":[`...)
		if reason != "" {
			b = append(b, `{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"`...)
			b = append(b, reason...)
			b = append(b, `","domain":"llm_router"`...)
			if e.Param != "" {
				b = append(b, `,"metadata":{"param":`...)
				b = llm.AppendString(b, e.Param)
				b = append(b, '}')
			}
			b = append(b, '}')
		}
		if e.RetryAfter > 0 {
			if reason != "" {
				b = append(b, ',')
			}
			b = append(b, `{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"`...)
			secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
			b = strconv.AppendInt(b, secs, 10)
			b = append(b, `s"}`...)
		}
		b = append(b, ']')
	}
	return append(b, "}}"...)
}

// statusName is the google.rpc.Code name for an HTTP status, as Google's
// APIs pair them.
func statusName(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	}
	if status >= 500 {
		return "INTERNAL"
	}
	return "INVALID_ARGUMENT"
}

// reasonOf is an error code as an ErrorInfo reason (UPPER_SNAKE_CASE), or
// "" when the code is absent or not a plain identifier.
func reasonOf(code string) string {
	if code == "" || len(code) > 64 {
		return ""
	}
	var buf [64]byte
	r := buf[:0]
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c >= 'a' && c <= 'z':
			r = append(r, c-'a'+'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
			r = append(r, c)
		default:
			return ""
		}
	}
	return string(r)
}
