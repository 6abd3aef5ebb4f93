// Package openaiwire renders whole OpenAI answers as the event streams of
// streamed requests: a chat completion as chat.completion.chunk events, a
// Responses API `response` object as its events. The openai provider uses
// them for servers that ignore `stream`, the inbound APIs for stored
// answers that the response cache replays.
package openaiwire

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// AppendChunks renders a whole chat completion (or text completion) as
// the event stream a streamed request expects (SPEC 5.3: servers that
// ignore `stream` answer with one JSON body): per choice a role chunk, its
// reasoning, content and tool calls, a chunk with its finish reason; then,
// when includeUsage, the usage chunk; then `data: [DONE]`.
func AppendChunks(b []byte, doc gjson.Result, includeUsage bool) []byte {
	chat := doc.Get("object").Str != "text_completion"
	object := "chat.completion.chunk"
	if !chat {
		object = "text_completion"
	}
	head := []byte(`{"id":`)
	head = llm.AppendString(head, doc.Get("id").Str)
	head = append(head, `,"object":"`...)
	head = append(head, object...)
	head = append(head, `","created":`...)
	head = strconv.AppendInt(head, doc.Get("created").Int(), 10)
	head = append(head, `,"model":`...)
	head = llm.AppendString(head, doc.Get("model").Str)
	head = append(head, `,"choices":[`...)

	event := func(choice []byte) {
		b = append(b, "data: "...)
		b = append(b, head...)
		b = append(b, choice...)
		b = append(b, "]}\n\n"...)
	}
	var c []byte
	doc.Get("choices").ForEach(func(_, ch gjson.Result) bool {
		index := ch.Get("index").Int()
		open := func() {
			c = append(c[:0], `{"index":`...)
			c = strconv.AppendInt(c, index, 10)
		}
		if !chat {
			open()
			c = append(c, `,"text":`...)
			c = llm.AppendString(c, ch.Get("text").Str)
			c = append(c, `,"logprobs":null,"finish_reason":null}`...)
			event(c)
		} else {
			msg := ch.Get("message")
			open()
			c = append(c, `,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}`...)
			event(c)
			for _, field := range []string{"reasoning_content", "content", "refusal"} {
				if v := msg.Get(field); v.Type == gjson.String && v.Str != "" {
					open()
					c = append(c, `,"delta":{"`...)
					c = append(c, field...)
					c = append(c, `":`...)
					c = append(c, v.Raw...)
					c = append(c, `},"logprobs":null,"finish_reason":null}`...)
					event(c)
				}
			}
			if tb := msg.Get("thinking_blocks"); tb.IsArray() {
				open()
				c = append(c, `,"delta":{"thinking_blocks":`...)
				c = llm.AppendCompact(c, tb.Raw) // an indented answer has newlines, which end an SSE data line
				c = append(c, `},"logprobs":null,"finish_reason":null}`...)
				event(c)
			}
			i := 0
			msg.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
				open()
				c = append(c, `,"delta":{"tool_calls":[{"index":`...)
				c = strconv.AppendInt(c, int64(i), 10)
				c = append(c, `,"id":`...)
				c = llm.AppendString(c, tc.Get("id").Str)
				c = append(c, `,"type":"function","function":{"name":`...)
				c = llm.AppendString(c, tc.Get("function.name").Str)
				c = append(c, `,"arguments":`...)
				c = llm.AppendString(c, tc.Get("function.arguments").Str)
				c = append(c, `}}]},"logprobs":null,"finish_reason":null}`...)
				event(c)
				i++
				return true
			})
		}
		open()
		if chat {
			c = append(c, `,"delta":{}`...)
		} else {
			c = append(c, `,"text":""`...)
		}
		c = append(c, `,"logprobs":null,"finish_reason":`...)
		if f := ch.Get("finish_reason"); f.Type == gjson.String {
			c = append(c, f.Raw...)
		} else {
			c = append(c, `"stop"`...)
		}
		c = append(c, '}')
		event(c)
		return true
	})
	if u := doc.Get("usage"); includeUsage && u.IsObject() {
		b = append(b, "data: "...)
		b = append(b, head[:len(head)-len(`"choices":[`)]...)
		b = append(b, `"choices":[],"usage":`...)
		b = llm.AppendCompact(b, u.Raw)
		b = append(b, "}\n\n"...)
	}
	return llm.AppendDone(b)
}
