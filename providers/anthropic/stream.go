package anthropic

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/anthropicwire"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// ErrStreamCut is returned when a Messages API event stream ends before its
// message_stop event.
var ErrStreamCut = errors.New("anthropic: the event stream ended before message_stop")

// writeStream translates a Messages API event stream into OpenAI
// chat.completion.chunk events, event by event, flushing whenever no further
// upstream bytes are already waiting:
//
//   - message_start gives the id and the input usage; nothing is written
//     yet, so an error event that follows at once can still be retried;
//   - before the first content, a chunk with `role: assistant`;
//   - content_block_start of a tool_use block announces the tool call
//     (id, name, its OpenAI `index`, counted over the tool calls of the
//     message); text_delta → `content`, thinking_delta →
//     `reasoning_content`, signature_delta → `thinking_blocks` with the
//     signature, a redacted_thinking block → `thinking_blocks` with its
//     data, input_json_delta → that tool call's
//     `arguments`; a tool call that got no arguments gets "{}";
//   - message_delta gives the stop reason and the cumulative usage;
//   - message_stop → the chunk with finish_reason, the usage chunk when the
//     client asked for it (stream_options.include_usage), `data: [DONE]`;
//   - ping and unknown events are ignored; an error event ends the
//     translation with a *llm.Error of KindStream keeping the error's
//     type.
//
// The usage received so far is returned with any error.
func writeStream(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	r := stream.NewReader(resp.Body, c.MaxResponseBody)
	defer r.Release()
	out, head := getScratch(), getScratch()
	s := streamer{w: w, c: c, out: (*out)[:0], head: (*head)[:0], format: responseFormatTool(c.Body)}
	s.blocks = s.blockBuf[:0]
	defer func() {
		*out, *head = s.out, s.head
		putScratch(out)
		putScratch(head)
	}()
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return s.result(), ErrStreamCut
		}
		if err != nil {
			return s.result(), err
		}
		if !ev.HasData {
			continue
		}
		done, err := s.event(ev)
		if err != nil {
			return s.result(), err
		}
		if done {
			return s.usage.Counted(), s.w.Flush()
		}
		if s.dirty && r.Buffered() == 0 {
			s.dirty = false
			if err := s.w.Flush(); err != nil {
				return s.result(), err
			}
		}
	}
}

// streamer is the state of one stream translation.
type streamer struct {
	w       llm.ResponseWriter
	c       *llm.Call
	out     []byte // the event being written
	head    []byte // `{"id":…,"object":…,"created":…,"model":…,"choices":[`
	format  string // the forced tool serving response_format, if any
	started bool   // the role chunk was written
	dirty   bool   // written since the last flush
	blocks  []block
	tools   int // tool calls announced so far
	// blockBuf holds the first blocks without an allocation.
	blockBuf [4]block
	finish   string // finish_reason, from message_delta
	usage    anthropicwire.Usage
	deltas   int64 // content chunks written, counted when usage is cut short
}

// block is one content block of the message.
type block struct {
	index int64
	kind  blockKind
	tool  int  // the tool call's OpenAI index
	args  bool // arguments were written
}

type blockKind uint8

const (
	blockOther blockKind = iota
	blockText
	blockThinking
	blockTool
	blockFormat // the tool serving response_format: its input is content
)

// event holds the fields of one Messages API stream event.
type event struct {
	typ, index, delta, contentBlock, message, usage, err gjson.Result
}

func (e *event) read(doc gjson.Result) {
	doc.ForEach(func(key, v gjson.Result) bool {
		var p *gjson.Result
		switch key.Str {
		case "type":
			p = &e.typ
		case "index":
			p = &e.index
		case "delta":
			p = &e.delta
		case "content_block":
			p = &e.contentBlock
		case "message":
			p = &e.message
		case "usage":
			p = &e.usage
		case "error":
			p = &e.err
		default:
			return true
		}
		if !p.Exists() {
			*p = v
		}
		return true
	})
}

// event handles one upstream event; done is set after message_stop.
func (s *streamer) event(ev *stream.Event) (done bool, err error) {
	var e event
	e.read(gjson.Parse(llm.BytesString(ev.Data)))
	typ := e.typ.Str
	if typ == "" {
		typ = llm.BytesString(ev.Name)
	}
	switch typ {
	case "message_start":
		s.start(e.message)
	case "content_block_start":
		return false, s.blockStart(e.index.Int(), e.contentBlock)
	case "content_block_delta":
		return false, s.blockDelta(e.index.Int(), e.delta)
	case "content_block_stop":
		return false, s.blockStop(e.index.Int())
	case "message_delta":
		if r := e.delta.Get("stop_reason"); r.Type == gjson.String {
			s.finish = finishReason(r.Str, s.formatUsed())
		}
		s.usage.Read(e.usage)
	case "message_stop":
		return true, s.end()
	case "error":
		obj := e.err
		if !obj.IsObject() {
			obj = gjson.Result{}
		}
		return false, errorOf(obj, llm.KindStream)
	}
	return false, nil
}

// start reads message_start: the chunks' head and the input usage.
func (s *streamer) start(msg gjson.Result) {
	s.setHead(msg.Get("id").Str)
	s.usage.Read(msg.Get("usage"))
}

func (s *streamer) setHead(id string) {
	s.head = append(s.head[:0], `{"id":`...)
	s.head = llm.AppendString(s.head, id)
	s.head = append(s.head, `,"object":"chat.completion.chunk","created":`...)
	s.head = strconv.AppendInt(s.head, now().Unix(), 10)
	s.head = append(s.head, `,"model":`...)
	s.head = llm.AppendString(s.head, s.c.Model)
	s.head = append(s.head, `,"choices":[`...)
}

func (s *streamer) blockStart(index int64, cb gjson.Result) error {
	switch cb.Get("type").Str {
	case "text":
		s.blocks = append(s.blocks, block{index: index, kind: blockText})
		if t := cb.Get("text").Str; t != "" {
			return s.content(`{"content":`, t)
		}
	case "thinking":
		s.blocks = append(s.blocks, block{index: index, kind: blockThinking})
		if t := cb.Get("thinking").Str; t != "" {
			if err := s.content(`{"reasoning_content":`, t); err != nil {
				return err
			}
		}
		if sig := cb.Get("signature").Str; sig != "" {
			return s.signature(sig)
		}
	case "redacted_thinking":
		s.blocks = append(s.blocks, block{index: index, kind: blockThinking})
		s.begin()
		s.out = append(s.out, `{"thinking_blocks":[`...)
		s.out = appendThinkingBlock(s.out, cb)
		s.out = append(s.out, "]}"...)
		return s.send("")
	case "tool_use":
		name := cb.Get("name").Str
		if s.format != "" && name == s.format && !s.formatUsed() {
			s.blocks = append(s.blocks, block{index: index, kind: blockFormat})
			return nil
		}
		k := s.tools
		s.tools++
		s.blocks = append(s.blocks, block{index: index, kind: blockTool, tool: k})
		s.begin()
		s.out = append(s.out, `{"tool_calls":[{"index":`...)
		s.out = strconv.AppendInt(s.out, int64(k), 10)
		s.out = append(s.out, `,"id":`...)
		s.out = llm.AppendString(s.out, cb.Get("id").Str)
		s.out = append(s.out, `,"type":"function","function":{"name":`...)
		s.out = llm.AppendString(s.out, name)
		s.out = append(s.out, `,"arguments":""}}]}`...)
		return s.send("")
	default:
		s.blocks = append(s.blocks, block{index: index, kind: blockOther})
	}
	return nil
}

func (s *streamer) blockDelta(index int64, delta gjson.Result) error {
	switch delta.Get("type").Str {
	case "text_delta":
		if t := delta.Get("text").Str; t != "" {
			return s.content(`{"content":`, t)
		}
	case "thinking_delta":
		if t := delta.Get("thinking").Str; t != "" {
			return s.content(`{"reasoning_content":`, t)
		}
	case "signature_delta":
		if sig := delta.Get("signature").Str; sig != "" {
			return s.signature(sig)
		}
	case "input_json_delta":
		pj := delta.Get("partial_json").Str
		b := s.find(index)
		if pj == "" || b == nil {
			return nil
		}
		switch b.kind {
		case blockTool:
			b.args = true
			return s.arguments(b.tool, pj)
		case blockFormat:
			b.args = true
			return s.content(`{"content":`, pj)
		}
	}
	return nil
}

// blockStop gives a tool call that had no arguments "{}", which clients
// can parse.
func (s *streamer) blockStop(index int64) error {
	b := s.find(index)
	if b == nil || b.args {
		return nil
	}
	switch b.kind {
	case blockTool:
		b.args = true
		return s.arguments(b.tool, "{}")
	case blockFormat:
		b.args = true
		return s.content(`{"content":`, "{}")
	}
	return nil
}

// find returns the block with index, searching from the latest.
func (s *streamer) find(index int64) *block {
	for i := len(s.blocks) - 1; i >= 0; i-- {
		if s.blocks[i].index == index {
			return &s.blocks[i]
		}
	}
	return nil
}

func (s *streamer) formatUsed() bool {
	for i := range s.blocks {
		if s.blocks[i].kind == blockFormat {
			return true
		}
	}
	return false
}

// content writes a delta with one string field; open is `{"<field>":`.
func (s *streamer) content(open, text string) error {
	s.begin()
	s.out = append(s.out, open...)
	s.out = llm.AppendString(s.out, text)
	s.out = append(s.out, '}')
	s.deltas++
	return s.send("")
}

// signature writes a thinking block's signature as a delta
// `thinking_blocks: [{"type":"thinking","thinking":"","signature":…}]`:
// the thinking text went out as reasoning_content already.
func (s *streamer) signature(sig string) error {
	s.begin()
	s.out = append(s.out, `{"thinking_blocks":[{"type":"thinking","thinking":"","signature":`...)
	s.out = llm.AppendString(s.out, sig)
	s.out = append(s.out, "}]}"...)
	return s.send("")
}

// arguments writes an argument delta of tool call k.
func (s *streamer) arguments(k int, args string) error {
	s.begin()
	s.out = append(s.out, `{"tool_calls":[{"index":`...)
	s.out = strconv.AppendInt(s.out, int64(k), 10)
	s.out = append(s.out, `,"function":{"arguments":`...)
	s.out = llm.AppendString(s.out, args)
	s.out = append(s.out, `}}]}`...)
	s.deltas++
	return s.send("")
}

var roleDelta = []byte(`{"role":"assistant","content":""}`)

// begin starts a chunk in s.out, up to `"delta":`, after writing the role
// chunk if this is the first.
func (s *streamer) begin() {
	if len(s.head) == 0 {
		s.setHead("")
	}
	if !s.started {
		s.started = true
		s.out = s.chunkStart(s.out[:0])
		s.out = append(s.out, roleDelta...)
		// An error here is the client's connection failing; the next
		// write reports it again.
		_ = s.send("")
	}
	s.out = s.chunkStart(s.out[:0])
}

func (s *streamer) chunkStart(b []byte) []byte {
	b = append(b, "data: "...)
	b = append(b, s.head...)
	return append(b, `{"index":0,"delta":`...)
}

// send ends the chunk in s.out with finish_reason (null when empty) and
// writes it as one event.
func (s *streamer) send(finish string) error {
	s.out = append(s.out, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		s.out = append(s.out, "null"...)
	} else {
		s.out = append(s.out, '"')
		s.out = append(s.out, finish...)
		s.out = append(s.out, '"')
	}
	s.out = append(s.out, "}]}\n\n"...)
	return s.write()
}

func (s *streamer) write() error {
	if !s.w.Committed() {
		h := s.w.Header()
		h["Content-Type"] = eventStreamValue
		h["Cache-Control"] = noCache
	}
	s.dirty = true
	_, err := s.w.Write(s.out)
	return err
}

var (
	noCache   = []string{"no-cache"}
	doneEvent = []byte("data: [DONE]\n\n")
)

// end writes the finish chunk, the usage chunk when asked for, and [DONE].
func (s *streamer) end() error {
	finish := s.finish
	if finish == "" {
		finish = "stop"
	}
	s.begin()
	s.out = append(s.out, "{}"...)
	if err := s.send(finish); err != nil {
		return err
	}
	if s.c.IncludeUsage {
		s.out = append(s.out[:0], "data: "...)
		s.out = append(s.out, s.head...)
		s.out = append(s.out, `],"usage":`...)
		s.out = appendUsage(s.out, &s.usage)
		s.out = append(s.out, "}\n\n"...)
		if err := s.write(); err != nil {
			return err
		}
	}
	s.out = append(s.out[:0], doneEvent...)
	return s.write()
}

// result is the usage of a stream cut short: what the upstream reported so
// far, and at least one completion token per content chunk delivered.
func (s *streamer) result() llm.Usage {
	u := s.usage.Counted()
	if s.deltas > u.CompletionTokens {
		u.CompletionTokens = s.deltas
	}
	return u
}
