package anthropic

import (
	"strconv"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// usage is the token usage of a Messages API answer.
type usage struct {
	input, cacheRead, cacheCreation, output int64
	thinking                                int64
	hasThinking                             bool
}

// read takes the figures present in a `usage` object. Streams send it in
// message_start and, cumulatively, in message_delta, where a figure may be
// absent or null: those keep their earlier value.
func (u *usage) read(r gjson.Result) {
	r.ForEach(func(key, v gjson.Result) bool {
		if key.Str == "output_tokens_details" {
			if t := v.Get("thinking_tokens"); t.Type == gjson.Number {
				u.thinking, u.hasThinking = t.Int(), true
			}
			return true
		}
		if v.Type != gjson.Number {
			return true
		}
		switch key.Str {
		case "input_tokens":
			u.input = v.Int()
		case "cache_read_input_tokens":
			u.cacheRead = v.Int()
		case "cache_creation_input_tokens":
			u.cacheCreation = v.Int()
		case "output_tokens":
			u.output = v.Int()
		}
		return true
	})
}

// prompt is OpenAI's prompt_tokens: every input token, read from the
// cache, written to it, or neither.
func (u *usage) prompt() int64 { return u.input + u.cacheRead + u.cacheCreation }

// counted is the usage in the router's terms, cache and thinking figures
// included.
func (u *usage) counted() llm.Usage {
	return llm.Usage{
		PromptTokens: u.prompt(), CompletionTokens: u.output,
		CacheReadTokens: u.cacheRead, CacheWriteTokens: u.cacheCreation, ReasoningTokens: u.thinking,
	}
}

// appendUsage writes the OpenAI usage object:
//
//	{"prompt_tokens": input + cache_read + cache_creation,
//	 "completion_tokens": output, "total_tokens": …,
//	 "prompt_tokens_details": {"cached_tokens": cache_read,
//	                           "cache_creation_tokens": cache_creation},
//	 "completion_tokens_details": {"reasoning_tokens": thinking}}
//
// the last only when the upstream reported thinking tokens.
func appendUsage(b []byte, u *usage) []byte {
	p := u.prompt()
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, p, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.output, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, p+u.output, 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.cacheRead, 10)
	b = append(b, `,"cache_creation_tokens":`...)
	b = strconv.AppendInt(b, u.cacheCreation, 10)
	b = append(b, '}')
	if u.hasThinking {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, u.thinking, 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

// finishReason maps a stop_reason: end_turn, stop_sequence and pause_turn
// → stop, tool_use → tool_calls (stop when the tool serves
// response_format), max_tokens and model_context_window_exceeded →
// length, refusal → content_filter; anything else → stop.
func finishReason(stop string, formatTool bool) string {
	switch stop {
	case "tool_use":
		if formatTool {
			return "stop"
		}
		return "tool_calls"
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "refusal":
		return "content_filter"
	}
	return "stop"
}
