package anthropic

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// completion holds what the translation reads from a hub chat completion.
type completion struct {
	id, model, usage gjson.Result
	finish, stopSeq  gjson.Result
	msg              deltaFields
	text             []gjson.Result // the text of content (a string or text parts)
	textBuf          [2]gjson.Result
}

// read parses a hub chat completion.
func (c *completion) read(body []byte) error {
	src := llm.BytesString(body)
	if !gjson.Valid(src) {
		return invalid("the upstream answer is not JSON")
	}
	var choices, errObj gjson.Result
	gjson.Parse(src).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			c.id = v
		case "model":
			c.model = v
		case "choices":
			choices = v
		case "usage":
			c.usage = v
		case "error":
			errObj = v
		}
		return true
	})
	if errObj.IsObject() {
		return invalid("the upstream answered with an error: " + errObj.Get("message").Str)
	}
	choice := choices.Get("0")
	if !choice.IsObject() {
		return invalid("the upstream answer has no choice")
	}
	var message gjson.Result
	choice.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "message":
			message = v
		case "finish_reason":
			c.finish = v
		case "stop_reason":
			c.stopSeq = v
		}
		return true
	})
	c.msg.read(message)
	c.text = c.textBuf[:0]
	switch content := c.msg.content; {
	case content.Type == gjson.String && content.Str != "":
		c.text = append(c.text, content)
	case content.IsArray():
		content.ForEach(func(_, p gjson.Result) bool {
			if p.Get("type").Str == "text" {
				if t := p.Get("text"); t.Str != "" {
					c.text = append(c.text, t)
				}
			}
			return true
		})
	}
	if c.msg.refusal.Type == gjson.String && c.msg.refusal.Str != "" {
		c.text = append(c.text, c.msg.refusal)
	}
	return nil
}

// blocks replays the answer's content through the stream translation:
// thinking (from thinking_blocks with their signatures, else
// reasoning_content), text, tool calls.
func (c *completion) blocks(v *events) {
	thought := false
	c.msg.thinkingBlocks.ForEach(func(_, tb gjson.Result) bool {
		switch tb.Get("type").Str {
		case "thinking":
			thought = true
			if t := tb.Get("thinking").Str; t != "" {
				v.thinking(t)
			}
			if s := tb.Get("signature").Str; s != "" {
				v.signature(s)
			}
		case "redacted_thinking":
			thought = true
			v.redacted(tb.Get("data").Str)
		}
		return true
	})
	if !thought && c.msg.reasoning.Str != "" {
		v.thinking(c.msg.reasoning.Str)
	}
	for _, t := range c.text {
		v.text(t.Str)
	}
	k := 0
	c.msg.toolCalls.ForEach(func(_, tc gjson.Result) bool {
		fn := tc.Get("function")
		v.toolCall(k, tc.Get("id").Str, fn.Get("name").Str, fn.Get("arguments").Str)
		k++
		return true
	})
}

// appendMessage writes a hub chat completion as a Messages API message:
// `msg_` + the hub id, the model, content blocks (thinking with its
// signature, text, tool_use with the arguments parsed into `input`),
// stop_reason and stop_sequence, usage.
func appendMessage(b []byte, c *completion, req *apis.Request) []byte {
	b = append(b, `{"id":`...)
	b = appendMessageID(b, c.id.Str)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	m := c.model.Str
	if m == "" {
		m = req.Model
	}
	b = llm.AppendString(b, m)
	b = append(b, `,"content":[`...)
	n := 0
	sep := func() {
		if n > 0 {
			b = append(b, ',')
		}
		n++
	}
	thought := false
	c.msg.thinkingBlocks.ForEach(func(_, tb gjson.Result) bool {
		switch tb.Get("type").Str {
		case "thinking":
			thought = true
			sep()
			b = append(b, `{"type":"thinking","thinking":`...)
			b = llm.AppendString(b, tb.Get("thinking").Str)
			b = append(b, `,"signature":`...)
			b = llm.AppendString(b, tb.Get("signature").Str)
			b = append(b, '}')
		case "redacted_thinking":
			thought = true
			sep()
			b = append(b, `{"type":"redacted_thinking","data":`...)
			b = llm.AppendString(b, tb.Get("data").Str)
			b = append(b, '}')
		}
		return true
	})
	if !thought && c.msg.reasoning.Str != "" {
		sep()
		b = append(b, `{"type":"thinking","thinking":`...)
		b = llm.AppendString(b, c.msg.reasoning.Str)
		b = append(b, `,"signature":""}`...)
	}
	if len(c.text) > 0 {
		sep()
		b = append(b, `{"type":"text","text":"`...)
		for _, t := range c.text {
			b = appendInner(b, t.Str)
		}
		b = append(b, `"}`...)
	}
	tools := 0
	c.msg.toolCalls.ForEach(func(_, tc gjson.Result) bool {
		fn := tc.Get("function")
		sep()
		tools++
		b = append(b, `{"type":"tool_use","id":`...)
		id := tc.Get("id").Str
		if id == "" {
			id = "toolu_" + strconv.Itoa(n-1)
		}
		b = llm.AppendString(b, id)
		b = append(b, `,"name":`...)
		b = llm.AppendString(b, fn.Get("name").Str)
		b = append(b, `,"input":`...)
		b = appendInput(b, fn.Get("arguments"))
		b = append(b, '}')
		return true
	})
	b = append(b, `],"stop_reason":"`...)
	b = append(b, stopReason(c.finish.Str, c.stopSeq.Str, tools > 0)...)
	b = append(b, `","stop_sequence":`...)
	if c.finish.Str == "stop" && c.stopSeq.Type == gjson.String && c.stopSeq.Str != "" && tools == 0 {
		b = llm.AppendString(b, c.stopSeq.Str)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"usage":`...)
	var u hubUsage
	u.read(c.usage)
	b = u.appendJSON(b)
	return append(b, '}')
}

// appendInput writes tool-call arguments (a JSON string holding an object)
// as a tool_use input object; arguments that are not a JSON object (a
// model's malformed output) become {}, the only input Anthropic's shape
// allows then.
func appendInput(b []byte, args gjson.Result) []byte {
	switch {
	case args.IsObject():
		return append(b, args.Raw...)
	case args.Type == gjson.String:
		s := strings.TrimSpace(args.Str)
		if len(s) > 0 && s[0] == '{' && gjson.Valid(s) {
			return append(b, s...)
		}
	}
	return append(b, "{}"...)
}

// hubUsage is the usage of a hub answer.
type hubUsage struct {
	prompt, completion, cacheRead, cacheWrite, reasoning int64
}

// read takes an OpenAI usage object with the hub's details.
func (u *hubUsage) read(r gjson.Result) {
	r.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt_tokens":
			u.prompt = v.Int()
		case "completion_tokens":
			u.completion = v.Int()
		case "prompt_tokens_details":
			v.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "cached_tokens":
					u.cacheRead = v.Int()
				case "cache_creation_tokens":
					u.cacheWrite = v.Int()
				}
				return true
			})
		case "completion_tokens_details":
			u.reasoning = v.Get("reasoning_tokens").Int()
		}
		return true
	})
}

// appendJSON writes Anthropic's usage: input_tokens are the prompt tokens
// neither read from nor written to the cache.
func (u *hubUsage) appendJSON(b []byte) []byte {
	input := u.prompt - u.cacheRead - u.cacheWrite
	if input < 0 {
		input = 0
	}
	b = append(b, `{"input_tokens":`...)
	b = llm.AppendInt(b, input)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = llm.AppendInt(b, u.cacheWrite)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = llm.AppendInt(b, u.cacheRead)
	b = append(b, `,"output_tokens":`...)
	b = llm.AppendInt(b, u.completion)
	if u.reasoning > 0 {
		b = append(b, `,"output_tokens_details":{"thinking_tokens":`...)
		b = llm.AppendInt(b, u.reasoning)
		b = append(b, '}')
	}
	return append(b, '}')
}
