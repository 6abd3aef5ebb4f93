// Package anthropicwire reads what the Anthropic Messages API writes, for
// both sides that meet it: the anthropic provider (answers it relays or
// translates) and the Messages inbound API (answers whose usage it prices).
package anthropicwire

import (
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// Usage is the token usage of a Messages API answer.
type Usage struct {
	Input, CacheRead, CacheCreation, Output int64
	// Thinking is output_tokens_details.thinking_tokens; HasThinking
	// reports whether the answer gave it.
	Thinking    int64
	HasThinking bool
}

// Read takes the figures present in a `usage` object. Streams send it in
// message_start and, cumulatively, in message_delta, where a figure may be
// absent or null: those keep their earlier value.
func (u *Usage) Read(r gjson.Result) {
	r.ForEach(func(key, v gjson.Result) bool {
		if key.Str == "output_tokens_details" {
			if t := v.Get("thinking_tokens"); t.Type == gjson.Number {
				u.Thinking, u.HasThinking = t.Int(), true
			}
			return true
		}
		if v.Type != gjson.Number {
			return true
		}
		switch key.Str {
		case "input_tokens":
			u.Input = v.Int()
		case "cache_read_input_tokens":
			u.CacheRead = v.Int()
		case "cache_creation_input_tokens":
			u.CacheCreation = v.Int()
		case "output_tokens":
			u.Output = v.Int()
		}
		return true
	})
}

// Prompt is OpenAI's prompt_tokens: every input token, read from the
// cache, written to it, or neither.
func (u *Usage) Prompt() int64 { return u.Input + u.CacheRead + u.CacheCreation }

// Counted is the usage in the router's terms, cache and thinking figures
// included.
func (u *Usage) Counted() llm.Usage {
	return llm.Usage{
		PromptTokens: u.Prompt(), CompletionTokens: u.Output,
		CacheReadTokens: u.CacheRead, CacheWriteTokens: u.CacheCreation, ReasoningTokens: u.Thinking,
	}
}
