package gemini

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// mode is what kind of hub answer the provider writes.
type mode uint8

const (
	modeUnset mode = iota
	modeJSON       // one JSON answer, held until Finish
	modeSSE        // a hub event stream, translated event by event
)

// encoder turns the hub answer a provider writes (a chat.completion or
// embeddings JSON body, or chat.completion.chunk events) into Gemini's
// answer. Which it is comes from the Content-Type the provider staged
// (else the first byte). A JSON answer is held until Finish, so a failure
// before then can still be retried; events are parsed as they arrive and
// each becomes at most one GenerateContentResponse event, framed as Google
// frames them (`data: {…}` and CRLF CRLF, no terminator).
type encoder struct {
	w       *stream.Writer
	req     *apis.Request
	mode    mode
	body    *bytes.Buffer
	sse     sseParser
	st      streamState
	out     []byte
	dirty   bool // bytes written since the last flush
	ended   bool // the final chunk or an error event was written
	errored bool // the error event was written
}

func newEncoder(w *stream.Writer, req *apis.Request) *encoder {
	return &encoder{w: w, req: req}
}

// Header returns the staged headers: those a provider sets (request ids,
// rate limits) reach the client, with Content-Type and Content-Length
// replaced by the encoder's.
func (e *encoder) Header() http.Header { return e.w.Header() }

// WriteHeader notes the kind of answer; nothing reaches the client before
// there is something to send.
func (e *encoder) WriteHeader(int) {
	if e.mode == modeUnset {
		e.decide(nil)
	}
}

// Write takes hub bytes.
func (e *encoder) Write(p []byte) (int, error) {
	if e.mode == modeUnset {
		e.decide(p)
	}
	if e.mode == modeJSON {
		e.body.Write(p)
		return len(p), nil
	}
	if err := e.sse.feed(p, e.event); err != nil {
		return 0, err
	}
	return len(p), nil
}

// decide picks the mode from the staged Content-Type, else from the first
// byte of the body.
func (e *encoder) decide(p []byte) {
	ct := e.w.Header().Get("Content-Type")
	switch {
	case hasPrefixFold(ct, stream.ContentType):
		e.mode = modeSSE
	case strings.Contains(ct, "json"):
		e.mode = modeJSON
	case p == nil:
		return
	default:
		e.mode = modeSSE
		if t := bytes.TrimLeft(p, " \t\r\n"); len(t) > 0 && t[0] == '{' {
			e.mode = modeJSON
		}
	}
	if e.mode == modeJSON {
		e.body = llm.GetBuffer()
	}
}

// Flush sends what was written since the last flush.
func (e *encoder) Flush() error {
	if !e.dirty {
		return nil
	}
	e.dirty = false
	return e.w.Flush()
}

// Committed reports whether the client received the status line.
func (e *encoder) Committed() bool { return e.w.Committed() }

// Finish writes a held JSON answer, or ends a stream whose hub events ran
// out without `[DONE]` with its final chunk.
func (e *encoder) Finish() error {
	switch e.mode {
	case modeUnset:
		return badAnswer("empty")
	case modeJSON:
		return e.finishJSON()
	}
	if err := e.sse.end(e.event); err != nil {
		return err
	}
	if !e.ended {
		if err := e.final(); err != nil {
			return err
		}
	}
	return e.Flush()
}

// finishJSON translates the held answer. A streamed request that the
// provider answered whole gets it as one event.
func (e *encoder) finishJSON() error {
	defer func() {
		llm.PutBuffer(e.body)
		e.body = nil
	}()
	var (
		out []byte
		err *llm.Error
	)
	if e.req.Op == llm.OpEmbedContent || e.req.Op == llm.OpBatchEmbedContents {
		out, err = appendEmbeddings(make([]byte, 0, e.body.Len()+64), e.body.Bytes(), e.req.Op)
	} else {
		out, err = appendAnswer(make([]byte, 0, e.body.Len()+256), e.body.Bytes())
	}
	if err != nil {
		return err
	}
	if e.req.Stream {
		e.startStream()
		if err := e.writeEvent(out); err != nil {
			return err
		}
		e.ended = true
		return e.Flush()
	}
	h := e.w.Header()
	h["Content-Type"] = jsonContentType
	h.Set("Content-Length", strconv.Itoa(len(out)))
	e.w.WriteHeader(http.StatusOK)
	_, werr := e.w.Write(out)
	return werr
}

var (
	eventStreamValue = []string{stream.ContentType}
	noCache          = []string{"no-cache"}
	eventPrefix      = []byte("data: ")
	eventEnd         = []byte("\r\n\r\n")
)

// startStream sets the headers of the client's event stream.
func (e *encoder) startStream() {
	if e.w.Committed() {
		return
	}
	h := e.w.Header()
	h["Content-Type"] = eventStreamValue
	h["Cache-Control"] = noCache
	h.Del("Content-Length")
}

// writeEvent writes one `data: <json>` event as Google frames it, in one
// Write so that it reaches the client whole.
func (e *encoder) writeEvent(data []byte) error {
	e.startStream()
	b := append(e.out[:0], eventPrefix...)
	b = append(b, data...)
	b = append(b, eventEnd...)
	e.out = b
	e.dirty = true
	_, err := e.w.Write(b)
	return err
}

// StreamError ends a committed stream with Google's error object as its
// last event.
func (e *encoder) StreamError(err *llm.Error) {
	if e.errored {
		return
	}
	e.errored, e.ended = true, true
	_ = e.writeEvent(appendError(make([]byte, 0, 256), err))
	_ = e.Flush()
}

// Interface guards
var _ apis.Encoder = (*encoder)(nil)
