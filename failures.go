package llmrouter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// failure classes, which decide what follows a failed attempt.
type class uint8

const (
	classRetry  class = iota // in retry_on: again on the same target, then next
	classNext                // this target cannot serve now: next candidate
	classClient              // the request itself is wrong: answer the client
)

func (h *Handler) classify(e *llm.Error) class {
	switch e.Kind {
	case llm.KindTimeout:
		if h.retryTimeout {
			return classRetry
		}
		return classNext
	case llm.KindConnect:
		if h.retryConnect {
			return classRetry
		}
		return classNext
	case llm.KindStream, llm.KindInvalid:
		if h.retryStatus[http.StatusBadGateway] {
			return classRetry
		}
		return classNext
	}
	if h.retryStatus[e.Status] {
		return classRetry
	}
	switch s := e.Status; {
	case s >= 500, s < 400, s == 401, s == 403, s == 404, s == 429:
		return classNext
	}
	return classClient
}

// transportFailure classifies an attempt that got no response.
func (x *exchange) transportFailure(ctx context.Context, t *Target, call *llm.Call, err error) (bool, *llm.Error) {
	if x.r.Context().Err() != nil {
		recordAttempt(t.Name, "canceled")
		return true, nil
	}
	return false, x.failureOf(ctx, t, call, err)
}

// failureOf turns an error from sending or relaying into a failure, with
// the call's key removed from it.
func (x *exchange) failureOf(ctx context.Context, t *Target, call *llm.Call, err error) *llm.Error {
	e := describeFailure(ctx, t, err)
	x.scrub(e, call)
	return e
}

func describeFailure(ctx context.Context, t *Target, err error) *llm.Error {
	var pe *llm.Error
	if errors.As(err, &pe) {
		return pe
	}
	timeout := func(msg string) *llm.Error {
		return &llm.Error{
			Status: http.StatusGatewayTimeout, Kind: llm.KindTimeout, Code: "upstream_timeout", Type: "timeout_error",
			Message: fmt.Sprintf("target %q: %s", t.Name, msg), Cause: err,
		}
	}
	switch context.Cause(ctx) {
	case errAttemptTimeout:
		return timeout(fmt.Sprintf("no complete response within %s", time.Duration(t.timeout)))
	case errFirstByteTimeout:
		return timeout(fmt.Sprintf("no first event within %s", time.Duration(t.FirstByteTimeout)))
	case errIdleTimeout:
		return timeout(fmt.Sprintf("no event for %s (idle_timeout)", time.Duration(t.idleTimeout)))
	}
	kind, status := llm.KindConnect, http.StatusBadGateway
	if errors.Is(err, llm.ErrTooLarge) || errors.Is(err, stream.ErrEventTooLarge) {
		kind = llm.KindInvalid
	}
	return &llm.Error{
		Status: status, Kind: kind, Code: "upstream_error", Type: "upstream_error",
		Message: fmt.Sprintf("target %q: %s", t.Name, failureKind(err)), Cause: err,
	}
}

// failureKind names what went wrong in words a client may read: the kind
// of failure, never the upstream's address (which the error itself, kept
// for the log, has).
func failureKind(err error) string {
	var dns *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.Is(err, llm.ErrTooLarge), errors.Is(err, stream.ErrEventTooLarge):
		return err.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.As(err, &dns):
		return "DNS lookup failed"
	case errors.As(err, &certErr), errors.As(err, &recordErr):
		return "TLS handshake failed"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed before the answer was complete"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "connection timed out"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "upstream unreachable"
	}
	if isProviderSentinel(err) {
		return err.Error()
	}
	return "connection failed"
}

// isProviderSentinel reports whether err is a plain error value a provider
// returned about the upstream's answer (such as "the event stream ended
// before message_stop"), which is safe to show: it is not a *url.Error or
// *net.OpError carrying an address.
func isProviderSentinel(err error) bool {
	var ue *url.Error
	var oe *net.OpError
	return !errors.As(err, &ue) && !errors.As(err, &oe)
}

// errIdleTimeout ends a streamed attempt whose upstream stayed silent for
// the target's idle_timeout.
var errIdleTimeout = errors.New("no event within idle_timeout")

// idleBody is a streamed response body that calls onIdle when no byte
// arrived for d.
type idleBody struct {
	io.ReadCloser
	d     time.Duration
	timer *time.Timer
}

func newIdleBody(rc io.ReadCloser, d time.Duration, onIdle func()) *idleBody {
	return &idleBody{ReadCloser: rc, d: d, timer: time.AfterFunc(d, onIdle)}
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.timer.Reset(b.d)
	}
	return n, err
}

func (b *idleBody) stop() { b.timer.Stop() }

// unexpectedAnswer refuses a 2xx that cannot be what was asked (SPEC 5.3):
// an HTML page or other non-JSON body for a request, or neither an event
// stream nor JSON for a streamed one; a media operation's audio or text
// answer is what was asked (llm.Op.AcceptsAnswer). Such an attempt fails
// like a 502 and may be retried. (A JSON answer to a streamed request is
// relayed as a stream by the provider; a truncated one fails when it is
// read.)
func unexpectedAnswer(t *Target, resp *http.Response, op llm.Op, stream bool) *llm.Error {
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt := mediaType(ct)
	if op.AcceptsAnswer(mt, stream) {
		return nil
	}
	want := "JSON"
	if op.Media() {
		want = "what " + op.String() + " answers"
	}
	return &llm.Error{
		Status: http.StatusBadGateway, Kind: llm.KindInvalid, Code: "upstream_error", Type: "upstream_error",
		Message: fmt.Sprintf("target %q: answered %d with %s instead of %s", t.Name, resp.StatusCode, mt, want),
	}
}

// mediaType is the media type of a Content-Type value, lower case, without
// parameters; it allocates only for a value that is not already lower case.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(ct)
		}
	}
	return ct
}
