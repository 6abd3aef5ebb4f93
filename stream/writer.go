package stream

import (
	"errors"
	"net/http"
)

// Writer is the client side of one routed request. Each attempt writes
// through it; headers are staged until the first byte of the body (or an
// explicit WriteHeader) commits them, so a failed attempt that wrote nothing
// leaves no trace and the next attempt starts clean.
//
// Flushing goes through http.ResponseController, so it works through any of
// Caddy's wrapping writers (e.g. `encode gzip`).
type Writer struct {
	rw        http.ResponseWriter
	rc        *http.ResponseController
	staged    http.Header
	committed bool
	status    int
	written   int64
	// OnCommit, when set, runs once, just before the status line is
	// written; the router uses it to add its own headers and placeholders.
	OnCommit func(w *Writer)
	// Tap, when set, sees every body write as it was made, before Filter
	// (the response cache records answers with it).
	Tap func(p []byte)
	// Filter, when set, may replace each body write before it reaches the
	// client (usage_cost splices the cost into usage objects with it). It
	// returns p itself when it changes nothing.
	Filter func(p []byte) []byte
}

// NewWriter wraps rw for one request.
func NewWriter(rw http.ResponseWriter) *Writer {
	return &Writer{rw: rw, rc: http.NewResponseController(rw), staged: make(http.Header)}
}

// Header returns the headers staged for the current attempt.
func (w *Writer) Header() http.Header { return w.staged }

// ResetAttempt discards the staged headers of a failed attempt. It must not
// be called after the response was committed.
func (w *Writer) ResetAttempt() { clear(w.staged) }

// Committed reports whether the status line was written: from then on the
// request can no longer be retried or answered with another status.
func (w *Writer) Committed() bool { return w.committed }

// Status is the status code written, 0 before commit.
func (w *Writer) Status() int { return w.status }

// BytesWritten is the number of body bytes written so far.
func (w *Writer) BytesWritten() int64 { return w.written }

// WriteHeader commits the staged headers and the status code.
func (w *Writer) WriteHeader(status int) {
	if w.committed {
		return
	}
	w.committed = true
	w.status = status
	if w.OnCommit != nil {
		w.OnCommit(w)
	}
	h := w.rw.Header()
	for k, v := range w.staged {
		h[k] = v
	}
	w.rw.WriteHeader(status)
}

// Write writes body bytes, committing a 200 first if needed. It reports
// len(p) when a Filter changed the bytes and all of them were written.
func (w *Writer) Write(p []byte) (int, error) {
	if !w.committed {
		w.WriteHeader(http.StatusOK)
	}
	if w.Tap != nil {
		w.Tap(p)
	}
	out := p
	if w.Filter != nil {
		out = w.Filter(p)
	}
	n, err := w.rw.Write(out)
	w.written += int64(n)
	if err == nil && n == len(out) {
		n = len(p)
	}
	return n, err
}

// Flush sends what was written to the client now. A writer that cannot
// flush is not an error: the bytes still go out when the handler returns.
func (w *Writer) Flush() error {
	if !w.committed {
		w.WriteHeader(http.StatusOK)
	}
	err := w.rc.Flush()
	if errors.Is(err, http.ErrNotSupported) {
		return nil
	}
	return err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *Writer) Unwrap() http.ResponseWriter { return w.rw }

// Interface guards
var _ http.ResponseWriter = (*Writer)(nil)
