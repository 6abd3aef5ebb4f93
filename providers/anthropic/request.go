package anthropic

import (
	"strconv"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// chatRequest holds the top-level fields of an OpenAI chat request that the
// translation reads, found in one pass over the body. A key given twice
// counts once, the first time, as gjson.Get reads it.
type chatRequest struct {
	messages, tools, toolChoice, parallelToolCalls, responseFormat gjson.Result
	maxTokens, maxCompletionTokens, temperature, topP, topK        gjson.Result
	stop, user, thinking                                           gjson.Result
}

func (r *chatRequest) read(src string) {
	gjson.Parse(src).ForEach(func(key, v gjson.Result) bool {
		var f *gjson.Result
		switch key.Str {
		case "messages":
			f = &r.messages
		case "tools":
			f = &r.tools
		case "tool_choice":
			f = &r.toolChoice
		case "parallel_tool_calls":
			f = &r.parallelToolCalls
		case "response_format":
			f = &r.responseFormat
		case "max_tokens":
			f = &r.maxTokens
		case "max_completion_tokens":
			f = &r.maxCompletionTokens
		case "temperature":
			f = &r.temperature
		case "top_p":
			f = &r.topP
		case "top_k":
			f = &r.topK
		case "stop":
			f = &r.stop
		case "user":
			f = &r.user
		case "thinking":
			f = &r.thinking
		default:
			return true
		}
		if !f.Exists() {
			*f = v
		}
		return true
	})
}

// appendRequest appends the Messages API body for an OpenAI chat request:
//
//   - `model` is the upstream model;
//   - `max_tokens` is `max_completion_tokens`, else `max_tokens`, else
//     defaultMax (the Messages API requires it);
//   - system and developer messages, wherever they stand, become `system`
//     text blocks in order; the other messages become alternating user and
//     assistant turns (see turns);
//   - `temperature` (capped at 1, the Messages API's maximum), `top_p`,
//     `top_k` and `stop` (→ `stop_sequences`) are kept, `user` becomes
//     `metadata.user_id`;
//   - `tools`, `tool_choice` and `parallel_tool_calls` are translated (see
//     appendTools), and so is `response_format` (see appendResponseFormat);
//   - `thinking`, an Anthropic extension some clients send, is passed on
//     as it is;
//   - everything else (`seed`, `presence_penalty`, `frequency_penalty`,
//     `logit_bias`, `reasoning_effort`, `store`, …) is dropped; what would
//     change the answer's meaning is refused earlier by check.
//
// The body must be valid JSON for the result to be valid JSON.
func appendRequest(b []byte, c *llm.Call, defaultMax int64) []byte {
	var r chatRequest
	r.read(llm.BytesString(c.Body))

	b = append(b, `{"model":`...)
	b = llm.AppendString(b, c.Model)
	b = append(b, `,"max_tokens":`...)
	switch {
	case r.maxCompletionTokens.Type == gjson.Number:
		b = strconv.AppendInt(b, r.maxCompletionTokens.Int(), 10)
	case r.maxTokens.Type == gjson.Number:
		b = strconv.AppendInt(b, r.maxTokens.Int(), 10)
	default:
		b = strconv.AppendInt(b, defaultMax, 10)
	}

	b = append(b, `,"messages":`...)
	sp := getScratch()
	t := turns{b: b, sys: (*sp)[:0]}
	t.messages(r.messages)
	b = t.b
	if len(t.sys) > 0 {
		b = append(b, `,"system":[`...)
		b = append(b, t.sys...)
		b = append(b, ']')
	}
	*sp = t.sys
	putScratch(sp)

	if r.temperature.Type == gjson.Number {
		b = append(b, `,"temperature":`...)
		if r.temperature.Num > 1 {
			b = append(b, '1')
		} else {
			b = append(b, r.temperature.Raw...)
		}
	}
	if r.topP.Type == gjson.Number {
		b = append(b, `,"top_p":`...)
		b = append(b, r.topP.Raw...)
	}
	if r.topK.Type == gjson.Number {
		b = append(b, `,"top_k":`...)
		b = append(b, r.topK.Raw...)
	}
	b = appendStop(b, r.stop)
	if r.user.Type == gjson.String && r.user.Str != "" {
		b = append(b, `,"metadata":{"user_id":`...)
		b = llm.AppendString(b, r.user.Str)
		b = append(b, '}')
	}
	if hasFunctionTools(r.tools) {
		b = appendTools(b, r.tools, r.toolChoice, r.parallelToolCalls)
	} else if f, ok := formatToolOf(r.responseFormat); ok {
		b = appendResponseFormat(b, f)
	}
	if r.thinking.IsObject() {
		b = append(b, `,"thinking":`...)
		b = append(b, r.thinking.Raw...)
	}
	if c.Stream {
		b = append(b, `,"stream":true`...)
	}
	return append(b, '}')
}

// appendStop writes `stop` (a string or an array of strings) as
// `stop_sequences`, leaving out empty strings, which the API rejects.
func appendStop(b []byte, stop gjson.Result) []byte {
	mark := len(b)
	b = append(b, `,"stop_sequences":[`...)
	n := 0
	add := func(s gjson.Result) {
		if s.Type != gjson.String || s.Str == "" {
			return
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = llm.AppendString(b, s.Str)
	}
	if stop.IsArray() {
		stop.ForEach(func(_, s gjson.Result) bool {
			add(s)
			return true
		})
	} else {
		add(stop)
	}
	if n == 0 {
		return b[:mark]
	}
	return append(b, ']')
}
