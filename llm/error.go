package llm

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Kind tells how an attempt failed, which decides retries and the answer.
type Kind uint8

// Kinds of failure.
const (
	// KindHTTP is an upstream answer with a non-2xx status.
	KindHTTP Kind = iota
	// KindConnect is a failure to reach the upstream or a broken connection.
	KindConnect
	// KindTimeout is an attempt's timeout or first-byte timeout running out.
	KindTimeout
	// KindStream is an error the upstream reported inside a 2xx event stream.
	KindStream
	// KindInvalid is an upstream response the router could not understand.
	KindInvalid
	// KindLocal is an answer the router gives itself (a refused key, a
	// limit, a store that cannot be reached): it reaches the client as it
	// is.
	KindLocal
)

// Error is a failed attempt, or an answer the router gives itself, in the
// terms of the OpenAI error shape
// `{"error":{"message":…,"type":…,"param":…,"code":…}}`.
type Error struct {
	// Status is the HTTP status to answer with (the upstream's status for
	// KindHTTP).
	Status int
	// Kind classifies the failure.
	Kind Kind
	// Message is human-readable and never contains a key.
	Message string
	// Type is the error type (e.g. invalid_request_error).
	Type string
	// Code is the machine-readable code (e.g. model_not_found).
	Code string
	// Param names the offending request parameter, if any.
	Param string
	// Body, when set, is the upstream's own JSON error body, in wire
	// format Format; an inbound API of that format passes it to the client
	// unchanged, the others answer in their shape from the fields above.
	Body []byte
	// Format is the wire format of Body (FormatOpenAI, FormatAnthropic,
	// FormatGemini).
	Format string
	// RetryAfter is the upstream's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Cause is the underlying error, for the log only: it may hold
	// internal addresses that a client must not see.
	Cause error
	// Relayed is set when the client already received this error in its
	// own API's format (an error event of a passthrough stream): the
	// router must not write another.
	Relayed bool
	// Header holds upstream response headers to pass on with the error
	// (OpenAI-compatible targets only).
	Header http.Header
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	}
	return e.Message
}

// Unsupported returns the 400 `unsupported` error for a parameter or endpoint
// that the target cannot serve.
func Unsupported(target, param, why string) *Error {
	msg := fmt.Sprintf("target %q does not support %s", target, param)
	if why != "" {
		msg += ": " + why
	}
	return &Error{
		Status: http.StatusBadRequest, Kind: KindHTTP, Message: msg,
		Type: "invalid_request_error", Code: "unsupported", Param: param,
	}
}

// ParseRetryAfter reads a Retry-After header given in seconds or as an HTTP
// date; zero when absent or unreadable.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		// OpenAI-style hint used by some compatible servers.
		v = h.Get("Retry-After-Ms")
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// TypeForStatus is the OpenAI-style error type the router uses for a status
// when the upstream named none.
func TypeForStatus(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status == http.StatusGatewayTimeout:
		return "timeout_error"
	case status >= 500:
		return "api_error"
	}
	return "invalid_request_error"
}

// AppendJSON appends the error in the hub's (OpenAI's) shape,
// `{"error":{"message":…,"type":…,"param":…,"code":…}}`.
func (e *Error) AppendJSON(b []byte) []byte {
	b = append(b, `{"error":{"message":`...)
	b = AppendString(b, e.Message)
	b = append(b, `,"type":`...)
	typ := e.Type
	if typ == "" {
		typ = TypeForStatus(e.Status)
	}
	b = AppendString(b, typ)
	b = append(b, `,"param":`...)
	if e.Param == "" {
		b = append(b, "null"...)
	} else {
		b = AppendString(b, e.Param)
	}
	b = append(b, `,"code":`...)
	if e.Code == "" {
		b = append(b, "null"...)
	} else {
		b = AppendString(b, e.Code)
	}
	return append(b, "}}"...)
}
