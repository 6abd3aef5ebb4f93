package anthropic

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/llmrouter/caddy-llm-router/internal/anthropicwire"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// now is the clock for `created`, replaceable in tests.
var now = time.Now

// writeMessage translates a non-streamed Messages API answer into one chat
// completion. The body is read whole before anything is written, so a
// failure to read or understand it can still be retried.
func writeMessage(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	buf, err := llm.ReadAll(resp.Body, resp.ContentLength, c.MaxResponseBody)
	if err != nil {
		return llm.Usage{}, err
	}
	defer llm.PutBuffer(buf)
	sp := getScratch()
	defer putScratch(sp)
	b, u, e := appendCompletion((*sp)[:0], buf.Bytes(), c)
	*sp = b
	if e != nil {
		return u.Counted(), e
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return u.Counted(), err
}

// message holds the top-level fields of a Messages API message.
type message struct {
	typ, id, content, stopReason, usage, err gjson.Result
}

func (m *message) read(doc gjson.Result) {
	doc.ForEach(func(key, v gjson.Result) bool {
		var p *gjson.Result
		switch key.Str {
		case "type":
			p = &m.typ
		case "id":
			p = &m.id
		case "content":
			p = &m.content
		case "stop_reason":
			p = &m.stopReason
		case "usage":
			p = &m.usage
		case "error":
			p = &m.err
		default:
			return true
		}
		if !p.Exists() {
			*p = v
		}
		return true
	})
}

// appendCompletion appends the chat completion for a Messages API message:
// text blocks joined as `content` (null when there are none), thinking
// blocks joined as `reasoning_content` and, with their signatures, in
// `thinking_blocks` together with redacted_thinking blocks (so a client
// can send them back on the next turn), tool_use blocks as `tool_calls`
// with their input as a JSON string, the stop reason mapped (see
// finishReason), usage (see appendUsage). `model` is the upstream model
// that was called. When a forced tool serves response_format, its input
// is the content.
func appendCompletion(b []byte, body []byte, c *llm.Call) ([]byte, anthropicwire.Usage, *llm.Error) {
	var u anthropicwire.Usage
	src := llm.BytesString(body)
	if !gjson.Valid(src) {
		return b, u, invalidResponse("the answer is not JSON")
	}
	var m message
	m.read(gjson.Parse(src))
	u.Read(m.usage)
	switch {
	case m.typ.Str == "error" && m.err.IsObject():
		return b, u, errorOf(m.err, llm.KindStream)
	case m.typ.Str != "message":
		return b, u, invalidResponse("the answer is not a message")
	}
	format := responseFormatTool(c.Body)

	var (
		textBuf, thinkBuf, toolBuf, blockBuf [4]gjson.Result
		texts, thinks, tools                 = textBuf[:0], thinkBuf[:0], toolBuf[:0]
		thinkBlocks                          = blockBuf[:0]
		formatInput                          gjson.Result
	)
	m.content.ForEach(func(_, block gjson.Result) bool {
		switch block.Get("type").Str {
		case "text":
			texts = append(texts, block.Get("text"))
		case "thinking":
			thinks = append(thinks, block.Get("thinking"))
			thinkBlocks = append(thinkBlocks, block)
		case "redacted_thinking":
			thinkBlocks = append(thinkBlocks, block)
		case "tool_use":
			if format != "" && block.Get("name").Str == format && !formatInput.Exists() {
				formatInput = block.Get("input")
				if !formatInput.Exists() {
					formatInput = gjson.Result{Type: gjson.JSON, Raw: "{}"}
				}
				return true
			}
			tools = append(tools, block)
		}
		return true
	})

	b = append(b, `{"id":`...)
	b = llm.AppendString(b, m.id.Str)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, now().Unix(), 10)
	b = append(b, `,"model":`...)
	b = llm.AppendString(b, c.Model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	switch {
	case formatInput.Exists():
		b = llm.AppendString(b, formatInput.Raw)
	case len(texts) == 0:
		b = append(b, "null"...)
	default:
		b = appendJoined(b, texts)
	}
	if len(thinks) > 0 {
		b = append(b, `,"reasoning_content":`...)
		b = appendJoined(b, thinks)
	}
	if len(thinkBlocks) > 0 {
		b = append(b, `,"thinking_blocks":[`...)
		for i, tb := range thinkBlocks {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendThinkingBlock(b, tb)
		}
		b = append(b, ']')
	}
	if len(tools) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i, t := range tools {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = llm.AppendString(b, t.Get("id").Str)
			b = append(b, `,"type":"function","function":{"name":`...)
			b = llm.AppendString(b, t.Get("name").Str)
			b = append(b, `,"arguments":`...)
			if in := t.Get("input"); in.Exists() {
				b = llm.AppendString(b, in.Raw)
			} else {
				b = append(b, `"{}"`...)
			}
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	b = append(b, `,"refusal":null},"logprobs":null,"finish_reason":"`...)
	b = append(b, finishReason(m.stopReason.Str, formatInput.Exists())...)
	b = append(b, `"}],"usage":`...)
	b = appendUsage(b, &u)
	return append(b, '}'), u, nil
}

// appendJoined writes the strings of parts, concatenated, as one JSON
// string.
func appendJoined(b []byte, parts []gjson.Result) []byte {
	if len(parts) == 1 {
		return llm.AppendString(b, parts[0].Str)
	}
	b = append(b, '"')
	for _, p := range parts {
		start := len(b)
		b = llm.AppendString(b, p.Str)
		// Drop the quotes AppendString put around this piece.
		n := copy(b[start:], b[start+1:len(b)-1])
		b = b[:start+n]
	}
	return append(b, '"')
}

// invalidResponse is a 2xx answer the router cannot understand.
func invalidResponse(why string) *llm.Error {
	return &llm.Error{
		Status: http.StatusBadGateway, Kind: llm.KindInvalid,
		Type: "upstream_error", Code: "upstream_error",
		Message: fmt.Sprintf("anthropic: %s", why),
	}
}

// appendThinkingBlock writes a thinking block as the hub's thinking_blocks
// entry, {"type":"thinking","thinking":…,"signature":…}, or a
// redacted_thinking block as {"type":"redacted_thinking","data":…}.
func appendThinkingBlock(b []byte, block gjson.Result) []byte {
	if block.Get("type").Str == "redacted_thinking" {
		b = append(b, `{"type":"redacted_thinking","data":`...)
		b = llm.AppendString(b, block.Get("data").Str)
		return append(b, '}')
	}
	b = append(b, `{"type":"thinking","thinking":`...)
	b = llm.AppendString(b, block.Get("thinking").Str)
	b = append(b, `,"signature":`...)
	b = llm.AppendString(b, block.Get("signature").Str)
	return append(b, '}')
}
