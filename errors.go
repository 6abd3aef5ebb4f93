package llmrouter

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// routerError builds an error the router answers with itself.
func routerError(status int, code, format string, args ...any) *llm.Error {
	return &llm.Error{
		Status:  status,
		Kind:    llm.KindLocal,
		Code:    code,
		Type:    llm.TypeForStatus(status),
		Message: fmt.Sprintf(format, args...),
	}
}

func errNotFound(path string) *llm.Error {
	return routerError(http.StatusNotFound, "not_found", "unknown path %q", path)
}

func errMethod(method, path string) *llm.Error {
	return routerError(http.StatusMethodNotAllowed, "method_not_allowed", "method %s is not allowed on %s", method, path)
}

func errTooLarge(limit int64) *llm.Error {
	return routerError(http.StatusRequestEntityTooLarge, "request_too_large", "request body is larger than %d bytes", limit)
}

func errModelNotFound(model string) *llm.Error {
	e := routerError(http.StatusNotFound, "model_not_found", "model %q is not served here", model)
	e.Param = "model"
	return e
}

func errUnknownTarget(name string) *llm.Error {
	return routerError(http.StatusBadRequest, "unknown_target", "X-LLM-Target names no target: %q", name)
}

// errReadTimeout is the answer when the client did not send its body
// within the server's read timeouts.
func errReadTimeout() *llm.Error {
	return routerError(http.StatusRequestTimeout, "request_timeout", "the request body did not arrive within the server's read timeout")
}

// errAllBusy is the answer when every candidate was at its max_in_flight.
func errAllBusy() *llm.Error {
	e := routerError(http.StatusTooManyRequests, "rate_limited", "every target for this model is at its max_in_flight")
	e.RetryAfter = time.Second
	return e
}

// parseStatus reads an HTTP status code as `retry_on` lists it.
func parseStatus(s string) (int, error) {
	code, err := strconv.Atoi(s)
	if err != nil || code < 100 || code > 599 {
		return 0, fmt.Errorf("%q is not an HTTP status code, `timeout` or `connect`", s)
	}
	return code, nil
}
