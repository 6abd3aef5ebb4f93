package anthropic

import (
	"bytes"
	"net/http"
	"sync"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// Encoder modes, decided by the Content-Type a provider stages.
const (
	modeUnknown = iota
	modeJSON    // a chat completion, held until Finish
	modeSSE     // chat.completion.chunk events, translated as they come
)

// encoder is the client side of a translated Messages request: providers
// write the hub answer to it, and the client receives a Messages API
// message (held until Finish) or event stream (event by event).
type encoder struct {
	w    *stream.Writer
	req  *apis.Request
	mode int
	held []byte // modeJSON: the hub answer so far
	// modeSSE: bytes of an event not yet complete; the data lines of the
	// event being read (only when it has several).
	pending, data []byte
	hasData       bool
	ev            events
}

func newEncoder(w *stream.Writer, req *apis.Request) *encoder {
	e := &encoder{w: w, req: req}
	e.ev.req = req
	return e
}

// Header returns the staged headers of the attempt.
func (e *encoder) Header() http.Header { return e.w.Header() }

// Committed reports whether the client received the status line.
func (e *encoder) Committed() bool { return e.w.Committed() }

// WriteHeader decides the mode from the staged Content-Type; the status
// reaches the client with the first event or at Finish. Before commit it
// starts a new attempt's answer.
func (e *encoder) WriteHeader(int) {
	if e.w.Committed() {
		return
	}
	e.reset()
	e.decide()
}

func (e *encoder) reset() {
	e.mode = modeUnknown
	e.held = e.held[:0]
	e.pending = e.pending[:0]
	e.data = e.data[:0]
	e.hasData = false
	e.ev.reset()
}

func (e *encoder) decide() {
	if e.mode != modeUnknown {
		return
	}
	if stream.IsEventStream(e.w.Header()) {
		e.mode = modeSSE
	} else {
		e.mode = modeJSON
	}
}

// Write takes hub bytes: a JSON answer is held, event-stream bytes are
// parsed as they come (a write may hold part of an event, or several) and
// each complete event is translated at once.
func (e *encoder) Write(p []byte) (int, error) {
	e.decide()
	if e.mode == modeJSON {
		e.held = append(e.held, p...)
		return len(p), nil
	}
	var err error
	if len(e.pending) == 0 {
		rest := e.parse(p)
		e.pending = append(e.pending, rest...)
	} else {
		e.pending = append(e.pending, p...)
		rest := e.parse(e.pending)
		e.pending = e.pending[:copy(e.pending, rest)]
	}
	if e.ev.err != nil {
		err, e.ev.err = e.ev.err, nil
	} else {
		err = e.ev.write(e.w)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// parse handles the complete lines of b and returns what is left of it.
func (e *encoder) parse(b []byte) []byte {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return b
		}
		line := b[:i]
		b = b[i+1:]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		e.line(line)
	}
}

var dataField = []byte("data:")

// line handles one line of the hub stream: `data:` fields are collected
// and a blank line dispatches the event; comments, `event:` and other
// fields mean nothing in the hub format.
func (e *encoder) line(line []byte) {
	if len(line) == 0 {
		if e.hasData {
			e.ev.event(e.data)
		}
		e.data, e.hasData = e.data[:0], false
		return
	}
	if !bytes.HasPrefix(line, dataField) {
		return
	}
	v := line[len(dataField):]
	if len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	if e.hasData {
		e.data = append(e.data, '\n')
	}
	e.data = append(e.data, v...)
	e.hasData = true
}

// Flush sends the events written so far; a held JSON answer waits for
// Finish.
func (e *encoder) Flush() error {
	if e.mode != modeSSE || !e.ev.dirty {
		return nil
	}
	e.ev.dirty = false
	return e.w.Flush()
}

// Finish completes the answer: the held JSON answer is translated and
// written (as a message, or as the events of one for a streamed request);
// a stream that ended without `[DONE]` gets its closing events.
func (e *encoder) Finish() error {
	err := e.finish()
	if err != nil && !e.w.Committed() {
		// Nothing reached the client: the next attempt starts afresh.
		e.reset()
	}
	return err
}

func (e *encoder) finish() error {
	switch e.mode {
	case modeJSON:
		return e.finishJSON()
	case modeSSE:
		if len(e.pending) > 0 {
			// An event cut off by the end of the stream.
			e.pending = append(e.pending, "\n\n"...)
			e.pending = e.pending[:copy(e.pending, e.parse(e.pending))]
		}
		if !e.ev.started {
			return invalid("the upstream stream had no answer")
		}
		if !e.ev.ended {
			e.ev.end()
		}
		if err := e.ev.write(e.w); err != nil {
			return err
		}
		return e.w.Flush()
	}
	return invalid("the upstream sent no answer")
}

// finishJSON translates the held chat completion.
func (e *encoder) finishJSON() error {
	var c completion
	if err := c.read(e.held); err != nil {
		return err
	}
	if e.req.Stream {
		e.ev.replay(&c)
		if err := e.ev.write(e.w); err != nil {
			return err
		}
		return e.w.Flush()
	}
	bp := outPool.Get().(*[]byte)
	out := appendMessage((*bp)[:0], &c, e.req)
	defer func() {
		if cap(out) <= 1<<20 {
			*bp = out[:0]
			outPool.Put(bp)
		}
	}()
	h := e.w.Header()
	h.Del("Content-Length")
	h["Content-Type"] = jsonContentType
	e.w.WriteHeader(http.StatusOK)
	_, err := e.w.Write(out)
	return err
}

// StreamError ends a committed stream with Anthropic's error event,
// `event: error` with `{"type":"error","error":{"type":…,"message":…}}`.
func (e *encoder) StreamError(err *llm.Error) {
	b := appendError(make([]byte, 0, 256), err)
	_ = stream.WriteEvent(e.w, "error", b)
	_ = e.w.Flush()
}

var outPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// invalid is a hub answer the encoder cannot translate: the attempt failed
// as if the upstream had sent it.
func invalid(why string) *llm.Error {
	return &llm.Error{
		Status: http.StatusBadGateway, Kind: llm.KindInvalid, Type: "api_error", Code: "upstream_error",
		Message: "anthropic API: " + why,
	}
}

// Interface guards
var _ apis.Encoder = (*encoder)(nil)
