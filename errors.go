package llmrouter

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/llmrouter/caddy-llm-router/providers"
)

// routerError builds an error the router answers with itself.
func routerError(status int, code, format string, args ...any) *providers.Error {
	return &providers.Error{
		Status:  status,
		Code:    code,
		Type:    providers.TypeForStatus(status),
		Message: fmt.Sprintf(format, args...),
	}
}

func errInvalid(param, format string, args ...any) *providers.Error {
	e := routerError(http.StatusBadRequest, "invalid_request", format, args...)
	e.Param = param
	return e
}

func errNotFound(path string) *providers.Error {
	return routerError(http.StatusNotFound, "not_found", "unknown path %q", path)
}

func errMethod(method, path string) *providers.Error {
	return routerError(http.StatusMethodNotAllowed, "method_not_allowed", "method %s is not allowed on %s", method, path)
}

func errTooLarge(limit int64) *providers.Error {
	return routerError(http.StatusRequestEntityTooLarge, "request_too_large", "request body is larger than %d bytes", limit)
}

func errModelNotFound(model string) *providers.Error {
	e := routerError(http.StatusNotFound, "model_not_found", "model %q is not served here", model)
	e.Param = "model"
	return e
}

func errUnknownTarget(name string) *providers.Error {
	return routerError(http.StatusBadRequest, "unknown_target", "X-LLM-Target names no target: %q", name)
}

// errAllBusy is the answer when every candidate was at its max_in_flight.
func errAllBusy() *providers.Error {
	e := routerError(http.StatusTooManyRequests, "rate_limited", "every target for this model is at its max_in_flight")
	e.RetryAfter = time.Second
	return e
}

// writeError writes e in the OpenAI error shape: an upstream's own JSON
// body unchanged when it has one, else the router's shape.
func writeError(w http.ResponseWriter, e *providers.Error) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Del("Content-Length")
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	var body []byte
	if e.Body != nil {
		body = e.Body
	} else {
		body = e.AppendJSON(make([]byte, 0, 256))
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

var jsonContentType = []string{"application/json"}

// parseStatus reads an HTTP status code as `retry_on` lists it.
func parseStatus(s string) (int, error) {
	code, err := strconv.Atoi(s)
	if err != nil || code < 100 || code > 599 {
		return 0, fmt.Errorf("%q is not an HTTP status code, `timeout` or `connect`", s)
	}
	return code, nil
}
