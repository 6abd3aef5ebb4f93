package anthropic

import (
	"strconv"

	"github.com/llmrouter/caddy-llm-router/internal/anthropicwire"
)

// appendUsage writes the OpenAI usage object:
//
//	{"prompt_tokens": input + cache_read + cache_creation,
//	 "completion_tokens": output, "total_tokens": …,
//	 "prompt_tokens_details": {"cached_tokens": cache_read,
//	                           "cache_creation_tokens": cache_creation},
//	 "completion_tokens_details": {"reasoning_tokens": thinking}}
//
// the last only when the upstream reported thinking tokens.
func appendUsage(b []byte, u *anthropicwire.Usage) []byte {
	p := u.Prompt()
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, p, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.Output, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, p+u.Output, 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.CacheRead, 10)
	b = append(b, `,"cache_creation_tokens":`...)
	b = strconv.AppendInt(b, u.CacheCreation, 10)
	b = append(b, '}')
	if u.HasThinking {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, u.Thinking, 10)
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
