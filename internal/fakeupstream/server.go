// Package fakeupstream runs local fake LLM provider servers for tests and
// benchmarks. Each speaks one provider's wire format as its public API
// reference documents it, records every request it receives, and can be
// scripted to fail, delay, stream slowly or drop the connection.
package fakeupstream

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Request is what a fake upstream received.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	// Gone is closed when the request's context ends (client cancel or
	// the response finished).
	Gone <-chan struct{}
	// At is when the request arrived (its body read).
	At time.Time
}

// Step scripts one response. The zero Step means: answer normally.
type Step struct {
	// Status, when set, fails the request with this status and Body (or a
	// provider-shaped error body when Body is empty).
	Status int
	// Body is the raw response body of a failure (or of a success, when
	// set with Status 0).
	Body string
	// Header is added to the response.
	Header http.Header
	// RetryAfter sets the Retry-After header.
	RetryAfter string
	// Delay is waited before the response headers.
	Delay time.Duration
	// ChunkDelay is waited between streamed events.
	ChunkDelay time.Duration
	// Chunks is the number of content events of a stream (default 3).
	Chunks int
	// DropAfter, when > 0, closes the connection abruptly after that many
	// content events of a stream.
	DropAfter int
	// HangAfter, when > 0, stops sending (without closing) after that
	// many content events, until the client goes away.
	HangAfter int
	// ErrorAfter, when > 0, sends a provider-shaped in-stream error event
	// after that many content events and ends the stream.
	ErrorAfter int
	// Text is the answer's text (default "Hello from <name>").
	Text string
	// Hold, when set, is waited on (or the client leaving) before the
	// response headers, so a test can keep a request in flight.
	Hold <-chan struct{}
	// Gate, when set, is waited on (a receive, or its close, or the client
	// leaving) before each content event of a stream after the first, so a
	// test can check what reached the client before the upstream sends
	// more.
	Gate <-chan struct{}
	// DropAtStart closes the connection abruptly right after the 200 status
	// line of a stream, before any event.
	DropAtStart bool
	// HangAtStart sends the 200 status line of a stream and then nothing,
	// until the client goes away.
	HangAtStart bool
	// SSE, when set, is the raw body of a stream (status 200, Content-Type
	// text/event-stream), for every fake whatever its wire format: each
	// piece is written and flushed as it is, with ChunkDelay and Gate
	// before every piece after the first, instead of the generated answer.
	SSE []string
}

// Server is a fake upstream: an httptest.Server plus a script and a record.
type Server struct {
	*httptest.Server
	Name string

	mu       sync.Mutex
	script   []Step
	always   *Step
	requests []*Request
	arrived  chan struct{}
	handler  func(w http.ResponseWriter, r *http.Request, req *Request, step Step)
	conns    atomic.Int64
}

// Conns is the number of TCP connections the fake accepted.
func (s *Server) Conns() int64 { return s.conns.Load() }

// start runs a fake with a wire-format handler.
func start(tb testing.TB, name string, handler func(w http.ResponseWriter, r *http.Request, req *Request, step Step)) *Server {
	s := &Server{Name: name, handler: handler, arrived: make(chan struct{}, 1<<16)}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if tb == nil {
			panic(err)
		}
		tb.Fatalf("fake upstream: %v", err)
	}
	s.Listener = l
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	if tb != nil {
		// Connections still open when the test ends are cut first: a
		// handler waiting for its client to leave (Hold, HangAfter, …)
		// would otherwise block Close for good when the router under test
		// failed to cancel its request, hanging the package instead of
		// failing the test.
		tb.Cleanup(func() {
			s.CloseClientConnections()
			s.Close()
		})
	}
	return s
}

// Script queues steps, used one per request in order; after they run out
// the Always step (or a normal answer) is used.
func (s *Server) Script(steps ...Step) *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, steps...)
	return s
}

// Always sets the step used once the script is exhausted.
func (s *Server) Always(step Step) *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.always = &step
	return s
}

// FailTimes scripts n failures with status (and Retry-After when given).
func (s *Server) FailTimes(n, status int, retryAfter string) *Server {
	for i := 0; i < n; i++ {
		s.Script(Step{Status: status, RetryAfter: retryAfter})
	}
	return s
}

// Requests returns a copy of what was received so far.
func (s *Server) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Request(nil), s.requests...)
}

// Count is the number of requests received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Last is the last request received, or nil.
func (s *Server) Last() *Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return nil
	}
	return s.requests[len(s.requests)-1]
}

// WaitRequests waits until at least n requests arrived, or the timeout.
func (s *Server) WaitRequests(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for s.Count() < n {
		select {
		case <-s.arrived:
		case <-deadline.C:
			return s.Count() >= n
		}
	}
	return true
}

// Reset forgets the record and the script.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.script, s.always = nil, nil, nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := &Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, Gone: r.Context().Done(),
		At: time.Now(),
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	var step Step
	switch {
	case len(s.script) > 0:
		step, s.script = s.script[0], s.script[1:]
	case s.always != nil:
		step = *s.always
	}
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}

	if step.Hold != nil {
		select {
		case <-step.Hold:
		case <-r.Context().Done():
			return
		}
	}
	if step.Delay > 0 && !wait(r, step.Delay) {
		return
	}
	for k, v := range step.Header {
		w.Header()[k] = v
	}
	if step.RetryAfter != "" {
		w.Header().Set("Retry-After", step.RetryAfter)
	}
	if step.SSE != nil && step.Status == 0 {
		scriptedSSE(w, r, step)
		return
	}
	s.handler(w, r, req, step)
}

// scriptedSSE writes a Step's raw event stream, whatever the wire format:
// each piece written and flushed as it is, with ChunkDelay and Gate before
// every piece after the first.
func scriptedSSE(w http.ResponseWriter, r *http.Request, step Step) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush(w)
	for i, piece := range step.SSE {
		if i > 0 && (!wait(r, step.ChunkDelay) || !gate(r, step.Gate)) {
			return
		}
		_, _ = w.Write([]byte(piece))
		flush(w)
	}
}

// wait sleeps d unless the client leaves first; it reports whether d passed.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// gate waits for g (when set) unless the client leaves first; it reports
// whether the gate opened.
func gate(r *http.Request, g <-chan struct{}) bool {
	if g == nil {
		return true
	}
	select {
	case <-g:
		return true
	case <-r.Context().Done():
		return false
	}
}

// contentEvents plays a stream's n content events as step scripts them:
// each after step.ChunkDelay and step.Gate (the first at once), send(i)
// writing event i; DropAfter cuts the connection, HangAfter stalls until
// the client leaves and ErrorAfter calls fail at that event instead. It
// reports whether the stream is to go on.
func (step Step) contentEvents(w http.ResponseWriter, r *http.Request, n int, send func(i int), fail func()) bool {
	for i := 0; i < n; i++ {
		if i > 0 && (!wait(r, step.ChunkDelay) || !gate(r, step.Gate)) {
			return false
		}
		switch {
		case step.DropAfter > 0 && i == step.DropAfter:
			drop(w)
			return false
		case step.HangAfter > 0 && i == step.HangAfter:
			<-r.Context().Done()
			return false
		case step.ErrorAfter > 0 && i == step.ErrorAfter:
			fail()
			return false
		}
		send(i)
	}
	return true
}

// drop closes the client connection without a proper end of response.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// flush sends what was written so far.
func flush(w http.ResponseWriter) { _ = http.NewResponseController(w).Flush() }

// writeSSE writes one `data:` event (and an `event:` line when name is set)
// and flushes it.
func writeSSE(w http.ResponseWriter, name string, data []byte) {
	var b bytes.Buffer
	if name != "" {
		b.WriteString("event: ")
		b.WriteString(name)
		b.WriteByte('\n')
	}
	b.WriteString("data: ")
	b.Write(data)
	b.WriteString("\n\n")
	_, _ = w.Write(b.Bytes())
	flush(w)
}
