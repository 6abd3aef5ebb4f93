package anthropic

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// Kinds of content block.
const (
	blockNone = iota
	blockText
	blockThinking
	blockRedacted
	blockTool
)

// toolBlock maps a hub tool call (by its `index`) to its content block.
type toolBlock struct {
	hub, index int
}

// events translates a hub stream into Messages API events, in Anthropic's
// order: message_start; per content block content_block_start, its deltas,
// content_block_stop (a block ends when the next one starts); message_delta
// with the stop reason and the usage; message_stop. Events are collected
// in out and written by write.
type events struct {
	req     *apis.Request
	out     []byte
	dirty   bool // written since the last flush
	started bool // message_start was written
	ended   bool // message_stop was written
	err     error

	cur    int  // kind of the open block, blockNone when none is
	signed bool // the open thinking block got its signature
	next   int  // index of the next block
	tools  []toolBlock
	tbuf   [4]toolBlock

	finish, stopSeq string
	usage           hubUsage
	hasUsage        bool
}

func (v *events) reset() {
	*v = events{req: v.req, out: v.out[:0]}
}

// write sends the collected events to w as one write.
func (v *events) write(w *stream.Writer) error {
	if len(v.out) == 0 {
		return nil
	}
	if !w.Committed() {
		h := w.Header()
		h.Del("Content-Length")
		h["Content-Type"] = eventStreamType
		h["Cache-Control"] = noCache
	}
	_, err := w.Write(v.out)
	v.out = v.out[:0]
	v.dirty = true
	return err
}

var (
	eventStreamType = []string{stream.ContentType}
	noCache         = []string{"no-cache"}
)

// emit starts an event named typ; the caller appends the rest of its JSON
// object after `{"type":"<typ>"` and calls done.
func (v *events) emit(typ string) {
	v.out = append(v.out, "event: "...)
	v.out = append(v.out, typ...)
	v.out = append(v.out, "\ndata: {\"type\":\""...)
	v.out = append(v.out, typ...)
	v.out = append(v.out, '"')
}

func (v *events) done() { v.out = append(v.out, "}\n\n"...) }

// chunkFields are the top-level fields of a chat.completion.chunk.
type chunkFields struct {
	id, model, choices, usage, err gjson.Result
}

// event handles one hub event's data.
func (v *events) event(data []byte) {
	if v.ended {
		return
	}
	if llm.IsDone(data) {
		v.start(gjson.Result{}, gjson.Result{})
		v.end()
		return
	}
	var f chunkFields
	gjson.Parse(llm.BytesString(data)).ForEach(func(k, val gjson.Result) bool {
		switch k.Str {
		case "id":
			f.id = val
		case "model":
			f.model = val
		case "choices":
			f.choices = val
		case "usage":
			f.usage = val
		case "error":
			f.err = val
		}
		return true
	})
	if f.err.IsObject() {
		v.err = invalid("the upstream stream carried an error: " + f.err.Get("message").Str)
		return
	}
	v.start(f.id, f.model)
	if f.usage.IsObject() {
		v.usage.read(f.usage)
		v.hasUsage = true
	}
	var choice gjson.Result
	f.choices.ForEach(func(_, c gjson.Result) bool {
		if i := c.Get("index"); !i.Exists() || i.Int() == 0 {
			choice = c
			return false
		}
		return true
	})
	if !choice.Exists() {
		return
	}
	var delta, finish, stopReason gjson.Result
	choice.ForEach(func(k, val gjson.Result) bool {
		switch k.Str {
		case "delta":
			delta = val
		case "finish_reason":
			finish = val
		case "stop_reason":
			stopReason = val
		}
		return true
	})
	v.delta(delta)
	if finish.Type == gjson.String {
		// Cloned: data is the encoder's buffer, reused for the next event.
		v.finish = strings.Clone(finish.Str)
		if stopReason.Type == gjson.String {
			v.stopSeq = strings.Clone(stopReason.Str)
		}
	}
}

// deltaFields are the fields of a hub delta (or message) that are
// translated.
type deltaFields struct {
	content, reasoning, thinkingBlocks, toolCalls, refusal gjson.Result
}

func (f *deltaFields) read(d gjson.Result) {
	d.ForEach(func(k, val gjson.Result) bool {
		switch k.Str {
		case "content":
			f.content = val
		case "reasoning_content":
			f.reasoning = val
		case "reasoning":
			// The name some OpenAI-compatible servers use.
			if !f.reasoning.Exists() {
				f.reasoning = val
			}
		case "thinking_blocks":
			f.thinkingBlocks = val
		case "tool_calls":
			f.toolCalls = val
		case "refusal":
			f.refusal = val
		}
		return true
	})
}

// delta translates one hub delta, in the order of Anthropic's blocks:
// thinking, text, tool calls.
func (v *events) delta(d gjson.Result) {
	if !d.IsObject() {
		return
	}
	var f deltaFields
	f.read(d)
	if f.reasoning.Type == gjson.String && f.reasoning.Str != "" {
		v.thinking(f.reasoning.Str)
	}
	f.thinkingBlocks.ForEach(func(_, tb gjson.Result) bool {
		switch tb.Get("type").Str {
		case "thinking":
			if f.reasoning.Type != gjson.String || f.reasoning.Str == "" {
				if t := tb.Get("thinking").Str; t != "" {
					v.thinking(t)
				}
			}
			if s := tb.Get("signature").Str; s != "" {
				v.signature(s)
			}
		case "redacted_thinking":
			v.redacted(tb.Get("data").Str)
		}
		return true
	})
	if f.content.Type == gjson.String && f.content.Str != "" {
		v.text(f.content.Str)
	}
	if f.refusal.Type == gjson.String && f.refusal.Str != "" {
		v.text(f.refusal.Str)
	}
	pos := 0
	f.toolCalls.ForEach(func(_, tc gjson.Result) bool {
		k := pos
		if i := tc.Get("index"); i.Type == gjson.Number {
			k = int(i.Int())
		}
		pos++
		fn := tc.Get("function")
		v.toolCall(k, tc.Get("id").Str, fn.Get("name").Str, fn.Get("arguments").Str)
		return true
	})
}

// start writes message_start before the first content: the message id
// (`msg_` + the hub's id), the model, and input usage estimated from the
// request (the hub reports usage only at the end; message_delta then
// carries the real figures).
func (v *events) start(id, model gjson.Result) {
	if v.started {
		return
	}
	v.started = true
	v.emit("message_start")
	v.out = append(v.out, `,"message":{"id":`...)
	v.out = appendMessageID(v.out, id.Str)
	v.out = append(v.out, `,"type":"message","role":"assistant","model":`...)
	m := model.Str
	if m == "" {
		m = v.req.Model
	}
	v.out = llm.AppendString(v.out, m)
	v.out = append(v.out, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`...)
	v.out = llm.AppendInt(v.out, EstimateTokens(v.req.Body))
	v.out = append(v.out, `,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`...)
	v.done()
}

// open starts a content block of kind; block is its JSON.
func (v *events) open(kind int, block string) {
	v.close()
	v.cur, v.signed = kind, false
	v.emit("content_block_start")
	v.out = append(v.out, `,"index":`...)
	v.out = strconv.AppendInt(v.out, int64(v.next), 10)
	v.out = append(v.out, `,"content_block":`...)
	v.out = append(v.out, block...)
	v.done()
	v.next++
}

// close ends the open block, if any.
func (v *events) close() {
	if v.cur == blockNone {
		return
	}
	v.cur = blockNone
	v.emit("content_block_stop")
	v.out = append(v.out, `,"index":`...)
	v.out = strconv.AppendInt(v.out, int64(v.next-1), 10)
	v.done()
}

// blockDelta writes a content_block_delta of block index: `"delta":{"type":
// "<typ>","<field>":<s>}`.
func (v *events) blockDelta(index int, typ, field, s string) {
	v.emit("content_block_delta")
	v.out = append(v.out, `,"index":`...)
	v.out = strconv.AppendInt(v.out, int64(index), 10)
	v.out = append(v.out, `,"delta":{"type":"`...)
	v.out = append(v.out, typ...)
	v.out = append(v.out, `","`...)
	v.out = append(v.out, field...)
	v.out = append(v.out, `":`...)
	v.out = llm.AppendString(v.out, s)
	v.out = append(v.out, '}')
	v.done()
}

func (v *events) text(s string) {
	if v.cur != blockText {
		v.open(blockText, `{"type":"text","text":""}`)
	}
	v.blockDelta(v.next-1, "text_delta", "text", s)
}

// thinking adds thinking text; text after a signature starts a new block.
func (v *events) thinking(s string) {
	if v.cur != blockThinking || v.signed {
		v.open(blockThinking, `{"type":"thinking","thinking":"","signature":""}`)
	}
	v.blockDelta(v.next-1, "thinking_delta", "thinking", s)
}

// signature ends a thinking block with its signature.
func (v *events) signature(s string) {
	if v.cur != blockThinking || v.signed {
		v.open(blockThinking, `{"type":"thinking","thinking":"","signature":""}`)
	}
	v.blockDelta(v.next-1, "signature_delta", "signature", s)
	v.signed = true
}

// redacted writes a redacted_thinking block, whole.
func (v *events) redacted(data string) {
	b := make([]byte, 0, len(data)+48)
	b = append(b, `{"type":"redacted_thinking","data":`...)
	b = llm.AppendString(b, data)
	b = append(b, '}')
	v.open(blockRedacted, llm.BytesString(b))
	v.close()
}

// toolCall handles a tool-call delta of hub index k: the first starts a
// tool_use block (each call its own block, in the order they come), the
// arguments pieces become input_json_delta events of that block as they
// come.
func (v *events) toolCall(k int, id, name, args string) {
	if v.tools == nil {
		v.tools = v.tbuf[:0]
	}
	index := -1
	for _, t := range v.tools {
		if t.hub == k {
			index = t.index
			break
		}
	}
	if index < 0 {
		b := make([]byte, 0, len(id)+len(name)+64)
		b = append(b, `{"type":"tool_use","id":`...)
		if id == "" {
			id = "toolu_" + strconv.Itoa(v.next)
		}
		b = llm.AppendString(b, id)
		b = append(b, `,"name":`...)
		b = llm.AppendString(b, name)
		b = append(b, `,"input":{}}`...)
		v.open(blockTool, llm.BytesString(b))
		index = v.next - 1
		v.tools = append(v.tools, toolBlock{hub: k, index: index})
	}
	if args != "" {
		// A call whose block already ended (a server that interleaves
		// parallel calls) still gets its delta, by index.
		v.blockDelta(index, "input_json_delta", "partial_json", args)
	}
}

// end closes the open block and writes message_delta and message_stop.
func (v *events) end() {
	if v.ended {
		return
	}
	v.ended = true
	v.close()
	v.emit("message_delta")
	v.out = append(v.out, `,"delta":{"stop_reason":"`...)
	v.out = append(v.out, stopReason(v.finish, v.stopSeq, len(v.tools) > 0)...)
	v.out = append(v.out, `","stop_sequence":`...)
	if v.finish == "stop" && v.stopSeq != "" && len(v.tools) == 0 {
		v.out = llm.AppendString(v.out, v.stopSeq)
	} else {
		v.out = append(v.out, "null"...)
	}
	v.out = append(v.out, `},"usage":`...)
	if v.hasUsage {
		v.out = v.usage.appendJSON(v.out)
	} else {
		v.out = append(v.out, `{"output_tokens":0}`...)
	}
	v.done()
	v.emit("message_stop")
	v.done()
}

// replay writes the events of a whole hub answer (a streamed request that
// the upstream answered with one JSON completion).
func (v *events) replay(c *completion) {
	v.start(c.id, c.model)
	c.blocks(v)
	v.finish, v.stopSeq = c.finish.Str, c.stopSeq.Str
	if c.usage.IsObject() {
		v.usage.read(c.usage)
		v.hasUsage = true
	}
	v.end()
}

// stopReason maps a hub finish_reason: stop → end_turn (stop_sequence when
// the hub names the sequence in `stop_reason`, as vLLM does; tool_use when
// tool calls were made), length → max_tokens, tool_calls and function_call
// → tool_use, content_filter → refusal.
func stopReason(finish, stopSeq string, tools bool) string {
	switch finish {
	case "length":
		return "max_tokens"
	case "tool_calls", "function_call":
		return "tool_use"
	case "content_filter":
		return "refusal"
	}
	switch {
	case tools:
		return "tool_use"
	case finish == "stop" && stopSeq != "":
		return "stop_sequence"
	}
	return "end_turn"
}

// appendMessageID writes `msg_` + the hub's id (the id itself when it has
// that prefix already, a fixed id when the hub gave none), as a JSON
// string.
func appendMessageID(b []byte, id string) []byte {
	switch {
	case id == "":
		return append(b, `"msg_llm_router"`...)
	case strings.HasPrefix(id, "msg_"):
		return llm.AppendString(b, id)
	}
	b = append(b, `"msg_`...)
	b = appendInner(b, id)
	return append(b, '"')
}
