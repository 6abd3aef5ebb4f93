package anthropic

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// The response cache's conversions (apis.Replayer), between a Messages API
// message and its event stream, in Anthropic's event order. They run on
// cache hits whose stored form is not the one asked for, so they favour
// clarity over speed.

var errNotMessage = errors.New("anthropic: the stored answer is not a message")

// AnswerToEvents renders a message as its stream: message_start (the
// message without content, stop reason or output tokens), per content
// block content_block_start, its deltas (text_delta and citations_delta,
// thinking_delta and signature_delta, input_json_delta with the whole
// input) and content_block_stop, then message_delta with the stop reason
// and the usage, and message_stop.
func (API) AnswerToEvents(_ *apis.Request, answer []byte) ([]byte, error) {
	// An event is one line: the message as compact JSON.
	msg := gjson.Get(llm.BytesString(answer), "@ugly")
	if msg.Get("type").Str != "message" {
		return nil, errNotMessage
	}
	var out []byte
	event := func(typ string, rest ...string) {
		b := []byte(`{"type":`)
		b = llm.AppendString(b, typ)
		for i := 0; i+1 < len(rest); i += 2 {
			b = append(b, ',')
			b = llm.AppendString(b, rest[i])
			b = append(b, ':')
			b = append(b, rest[i+1]...)
		}
		out = stream.AppendEvent(out, typ, append(b, '}'))
	}
	start, _ := sjson.SetRawBytes([]byte(msg.Raw), "content", []byte("[]"))
	start, _ = sjson.SetRawBytes(start, "stop_reason", []byte("null"))
	start, _ = sjson.SetRawBytes(start, "stop_sequence", []byte("null"))
	if msg.Get("usage").IsObject() {
		start, _ = sjson.SetRawBytes(start, "usage.output_tokens", []byte("0"))
	}
	event("message_start", "message", string(start))
	msg.Get("content").ForEach(func(k, block gjson.Result) bool {
		index := strconv.FormatInt(k.Int(), 10)
		delta := func(d string) { event("content_block_delta", "index", index, "delta", d) }
		switch typ := block.Get("type").Str; typ {
		case "text":
			empty, _ := sjson.Delete(block.Raw, "citations")
			empty, _ = sjson.Set(empty, "text", "")
			event("content_block_start", "index", index, "content_block", empty)
			delta(`{"type":"text_delta","text":` + quote(block.Get("text").Str) + `}`)
			block.Get("citations").ForEach(func(_, c gjson.Result) bool {
				delta(`{"type":"citations_delta","citation":` + c.Raw + `}`)
				return true
			})
		case "thinking":
			event("content_block_start", "index", index, "content_block", `{"type":"thinking","thinking":"","signature":""}`)
			delta(`{"type":"thinking_delta","thinking":` + quote(block.Get("thinking").Str) + `}`)
			delta(`{"type":"signature_delta","signature":` + quote(block.Get("signature").Str) + `}`)
		case "tool_use", "server_tool_use", "mcp_tool_use":
			empty, _ := sjson.SetRaw(block.Raw, "input", "{}")
			event("content_block_start", "index", index, "content_block", empty)
			input := block.Get("input").Raw
			if input == "" {
				input = "{}"
			}
			delta(`{"type":"input_json_delta","partial_json":` + quote(input) + `}`)
		default: // redacted thinking, tool results: whole at the start
			event("content_block_start", "index", index, "content_block", block.Raw)
		}
		event("content_block_stop", "index", index)
		return true
	})
	d := `{"stop_reason":` + raw(msg.Get("stop_reason")) + `,"stop_sequence":` + raw(msg.Get("stop_sequence")) + `}`
	if u := msg.Get("usage"); u.IsObject() {
		event("message_delta", "delta", d, "usage", u.Raw)
	} else {
		event("message_delta", "delta", d)
	}
	event("message_stop")
	return out, nil
}

func quote(s string) string { return string(llm.AppendString(nil, s)) }

func raw(v gjson.Result) string {
	if !v.Exists() {
		return "null"
	}
	return v.Raw
}

// block is one content block being assembled from its events.
type block struct {
	index                         int64
	start                         string // content_block_start's block
	text, thinking, input         strings.Builder
	signature                     string
	citations                     []string
	hasText, hasThinking, isInput bool
}

// EventsToAnswer assembles a Messages API stream into its message: the
// message of message_start with the content blocks built from their start
// and deltas, the stop reason and stop sequence of message_delta, and its
// usage merged over message_start's.
func (API) EventsToAnswer(_ *apis.Request, events []byte, _ llm.Usage) ([]byte, error) {
	var (
		msg    []byte
		blocks []*block
		delta  gjson.Result
		usage  gjson.Result
	)
	find := func(i int64) *block {
		for _, b := range blocks {
			if b.index == i {
				return b
			}
		}
		b := &block{index: i}
		blocks = append(blocks, b)
		return b
	}
	err := apis.EachEvent(events, func(_, data []byte) bool {
		ev := gjson.ParseBytes(data)
		switch ev.Get("type").Str {
		case "message_start":
			msg = []byte(ev.Get("message").Raw)
		case "content_block_start":
			b := find(ev.Get("index").Int())
			b.start = ev.Get("content_block").Raw
		case "content_block_delta":
			b := find(ev.Get("index").Int())
			d := ev.Get("delta")
			switch d.Get("type").Str {
			case "text_delta":
				b.text.WriteString(d.Get("text").Str)
				b.hasText = true
			case "thinking_delta":
				b.thinking.WriteString(d.Get("thinking").Str)
				b.hasThinking = true
			case "signature_delta":
				b.signature = d.Get("signature").Str
			case "input_json_delta":
				b.input.WriteString(d.Get("partial_json").Str)
				b.isInput = true
			case "citations_delta":
				b.citations = append(b.citations, d.Get("citation").Raw)
			}
		case "message_delta":
			delta = ev.Get("delta")
			usage = ev.Get("usage")
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if msg == nil {
		return nil, errNotMessage
	}
	slices.SortFunc(blocks, func(a, b *block) int { return int(a.index - b.index) })
	content := []byte{'['}
	for i, b := range blocks {
		if i > 0 {
			content = append(content, ',')
		}
		content = append(content, b.json()...)
	}
	content = append(content, ']')
	msg, _ = sjson.SetRawBytes(msg, "content", content)
	for _, f := range [...]string{"stop_reason", "stop_sequence"} {
		if v := delta.Get(f); v.Exists() {
			msg, _ = sjson.SetRawBytes(msg, f, []byte(v.Raw))
		}
	}
	usage.ForEach(func(k, v gjson.Result) bool {
		if v.Type != gjson.Null {
			msg, _ = sjson.SetRawBytes(msg, "usage."+k.Str, []byte(v.Raw))
		}
		return true
	})
	return msg, nil
}

// json is the block as a message holds it.
func (b *block) json() string {
	out := b.start
	if out == "" {
		out = "{}"
	}
	if b.hasText {
		out, _ = sjson.Set(out, "text", gjson.Get(out, "text").Str+b.text.String())
	}
	if len(b.citations) > 0 {
		out, _ = sjson.SetRaw(out, "citations", "["+strings.Join(b.citations, ",")+"]")
	}
	if b.hasThinking {
		out, _ = sjson.Set(out, "thinking", gjson.Get(out, "thinking").Str+b.thinking.String())
	}
	if b.signature != "" {
		out, _ = sjson.Set(out, "signature", b.signature)
	}
	if b.isInput {
		input := strings.TrimSpace(b.input.String())
		if input == "" || !gjson.Valid(input) {
			input = "{}"
		}
		out, _ = sjson.SetRaw(out, "input", input)
	}
	return out
}

// ReplayEvents returns the stream as it was.
func (API) ReplayEvents(_ *apis.Request, events []byte, _ llm.Usage) []byte { return events }

// Interface guards
var _ apis.Replayer = API{}
