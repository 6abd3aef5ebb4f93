package responses

import (
	"bytes"
	"mime"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// What the provider is writing, decided by its Content-Type at its first
// write.
const (
	modeUnknown = iota
	modeJSON    // one hub answer, held until Finish
	modeSSE     // hub chunks, translated as they come
)

// encoder is the client side of a translated Responses request. A provider
// writes its hub answer to it: a JSON chat completion, held until Finish
// and then answered as a `response` object (or, when the client asked for
// a stream, as the whole event stream of that answer); or hub chunks,
// parsed as they come (a write may hold part of an event, or several) and
// translated into Responses events, the first of which commits the
// response. Nothing reaches the client before the first translated event,
// so an attempt that fails before it can be retried.
type encoder struct {
	w    *stream.Writer
	req  *apis.Request
	mode int
	t    translator

	line   []byte // an incomplete line of the hub stream
	data   []byte // the data of the hub event being read
	inData bool   // an event with data is being read
	body   *bytes.Buffer
}

func newEncoder(w *stream.Writer, req *apis.Request) *encoder {
	e := &encoder{w: w, req: req}
	e.reset()
	return e
}

// reset forgets a previous attempt that wrote nothing to the client.
func (e *encoder) reset() {
	if e.body != nil {
		llm.PutBuffer(e.body)
	}
	e.mode, e.line, e.data, e.inData, e.body = modeUnknown, e.line[:0], e.data[:0], false, nil
	e.t = translator{emit: e.req.Stream, body: e.req.Body, out: e.t.out[:0]}
}

// Header returns the response headers being staged.
func (e *encoder) Header() http.Header { return e.w.Header() }

// WriteHeader notes that a provider starts its answer; the status line is
// written with the first translated event. A provider starting again
// before anything reached the client is a new attempt, unless it is still
// the stream whose start is held (a relay calls WriteHeader until the
// response is committed).
func (e *encoder) WriteHeader(int) {
	if !e.w.Committed() && (e.mode == modeJSON || !e.t.started) {
		e.reset()
	}
}

// Committed reports whether the client received the status line.
func (e *encoder) Committed() bool { return e.w.Committed() }

// Flush sends the translated events written so far; before the first one
// it does nothing, so that the attempt can still be retried.
func (e *encoder) Flush() error {
	if !e.w.Committed() {
		return nil
	}
	return e.w.Flush()
}

// Write takes hub bytes.
func (e *encoder) Write(p []byte) (int, error) {
	if e.mode == modeUnknown {
		e.mode = modeOf(e.w.Header().Get("Content-Type"), p)
	}
	if e.mode == modeJSON {
		if e.body == nil {
			e.body = llm.GetBuffer()
		}
		e.body.Write(p)
		return len(p), nil
	}
	e.feed(p)
	if err := e.send(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// modeOf decides what a provider writes from its Content-Type, else from
// the first byte.
func modeOf(contentType string, p []byte) int {
	if mt, _, _ := mime.ParseMediaType(contentType); mt != "" {
		if mt == stream.ContentType {
			return modeSSE
		}
		return modeJSON
	}
	if t := bytes.TrimLeft(p, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return modeJSON
	}
	return modeSSE
}

var dataField = []byte("data:")

// feed parses hub SSE bytes line by line, dispatching each event's data
// when its blank line arrives. Lines and events may be split across
// writes or joined in one.
func (e *encoder) feed(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			e.line = append(e.line, p...)
			return
		}
		line := p[:i]
		p = p[i+1:]
		if len(e.line) > 0 {
			e.line = append(e.line, line...)
			line = e.line
		}
		e.onLine(bytes.TrimSuffix(line, []byte{'\r'}))
		e.line = e.line[:0]
	}
}

// onLine handles one line of the hub stream.
func (e *encoder) onLine(line []byte) {
	if len(line) == 0 {
		if e.inData {
			e.chunk(e.data)
			e.data, e.inData = e.data[:0], false
		}
		return
	}
	if !bytes.HasPrefix(line, dataField) {
		return // comments, event names, ids
	}
	v := line[len(dataField):]
	if len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	if e.inData {
		e.data = append(e.data, '\n')
	}
	e.data = append(e.data, v...)
	e.inData = true
}

// chunk translates one hub chunk.
func (e *encoder) chunk(data []byte) {
	if llm.IsDone(data) || e.t.finished {
		return
	}
	src := llm.BytesString(data)
	var model, choices, u gjson.Result
	gjson.Parse(src).ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "model":
			model = v
		case "choices":
			choices = v
		case "usage":
			u = v
		}
		return true
	})
	t := &e.t
	if !t.started {
		m := model.Str
		if m == "" {
			m = e.req.Model
		}
		t.start(m)
	}
	if u.IsObject() {
		t.usage.read(u)
	}
	choice := choices.Get("0")
	if !choice.Exists() {
		return
	}
	var delta, finish gjson.Result
	choice.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "delta", "message":
			delta = v
		case "finish_reason":
			finish = v
		}
		return true
	})
	e.delta(delta)
	if finish.Type == gjson.String && finish.Str != "" {
		t.setFinish(finish.Str)
	}
}

// delta feeds a hub delta (or a whole message) to the translator, in the
// order the Responses API lists items: reasoning, text, tool calls.
func (e *encoder) delta(d gjson.Result) {
	if !d.IsObject() {
		return
	}
	var reasoning, content, refusal, calls gjson.Result
	d.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "reasoning_content":
			reasoning = v
		case "content":
			content = v
		case "refusal":
			refusal = v
		case "tool_calls":
			calls = v
		}
		return true
	})
	t := &e.t
	t.reasoning(reasoning.Str)
	if content.IsArray() {
		content.ForEach(func(_, part gjson.Result) bool {
			if part.Get("type").Str == "text" {
				t.text(part.Get("text").Str)
			}
			return true
		})
	} else {
		t.text(content.Str)
	}
	t.refusal(refusal.Str)
	n := int64(0)
	calls.ForEach(func(_, c gjson.Result) bool {
		index := n
		if i := c.Get("index"); i.Type == gjson.Number {
			index = i.Int()
		}
		n++
		f := c.Get("function")
		t.toolCall(index, c.Get("id").Str, f.Get("name").Str, f.Get("arguments").Str)
		return true
	})
}

// send writes the translated events, committing the response with the
// first.
func (e *encoder) send() error {
	if len(e.t.out) == 0 {
		return nil
	}
	if !e.w.Committed() {
		h := e.w.Header()
		h.Del("Content-Length")
		if e.t.emit {
			h["Content-Type"] = eventStreamValue
			h["Cache-Control"] = noCache
		} else {
			h["Content-Type"] = jsonContentType
		}
		e.w.WriteHeader(http.StatusOK)
	}
	_, err := e.w.Write(e.t.out)
	e.t.out = e.t.out[:0]
	return err
}

var (
	eventStreamValue = []string{stream.ContentType}
	jsonContentType  = []string{"application/json"}
	noCache          = []string{"no-cache"}
)

// Finish completes the answer: a held JSON answer is translated and sent
// whole; a stream gets its last items closed and its terminal event.
func (e *encoder) Finish() error {
	defer e.release()
	switch e.mode {
	case modeUnknown:
		return invalidAnswer("the provider wrote no answer")
	case modeJSON:
		if err := e.answer(); err != nil {
			return err
		}
	default:
		if len(e.line) > 0 {
			e.feed([]byte{'\n'})
		}
		e.onLine(nil) // an event cut off by the end
		if !e.t.started {
			return invalidAnswer("the hub stream held no chunk")
		}
	}
	if !e.t.finished {
		e.t.complete()
	}
	if err := e.send(); err != nil {
		return err
	}
	return e.w.Flush()
}

// answer feeds a held hub (OpenAI chat completion) answer to the
// translator.
func (e *encoder) answer() error {
	src := llm.BytesString(e.body.Bytes())
	if !gjson.Valid(src) {
		return invalidAnswer("the answer is not JSON")
	}
	doc := gjson.Parse(src)
	if !doc.Get("choices").IsArray() {
		return invalidAnswer("the answer has no choices")
	}
	e.chunk(e.body.Bytes())
	return nil
}

func invalidAnswer(why string) *llm.Error {
	return &llm.Error{Status: http.StatusBadGateway, Kind: llm.KindInvalid, Code: "upstream_error", Type: "upstream_error",
		Message: "could not translate the answer into the Responses API: " + why}
}

// release returns the held body's buffer.
func (e *encoder) release() {
	if e.body != nil {
		llm.PutBuffer(e.body)
		e.body = nil
	}
}

// StreamError ends a committed stream with a response.failed event (a
// response with status failed and the error's code and message).
func (e *encoder) StreamError(err *llm.Error) {
	defer e.release()
	t := &e.t
	if t.finished || !e.req.Stream {
		return
	}
	if !t.started {
		// A passthrough stream: the client has its own created event.
		t.emit = false
		t.start(e.req.Model)
	}
	t.emit = true
	t.out = t.out[:0]
	t.fail(err)
	_ = e.send()
	_ = e.w.Flush()
}

// Interface guards
var _ apis.Encoder = (*encoder)(nil)
