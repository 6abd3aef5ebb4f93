package llm

// Usage is the token usage of one answer.
type Usage struct {
	// PromptTokens counts every input token, including those read from or
	// written to a provider's prompt cache (OpenAI's prompt_tokens).
	PromptTokens int64
	// CompletionTokens counts every output token, reasoning included.
	CompletionTokens int64
	// CacheReadTokens are the prompt tokens read from the provider's cache
	// (OpenAI cached_tokens, Anthropic cache_read_input_tokens, Gemini
	// cachedContentTokenCount).
	CacheReadTokens int64
	// CacheWriteTokens are the prompt tokens written to the provider's
	// cache (Anthropic cache_creation_input_tokens).
	CacheWriteTokens int64
	// ReasoningTokens are the completion tokens spent on reasoning.
	ReasoningTokens int64
	// FinishReason is why the answer ended, in the hub's terms (stop,
	// length, tool_calls, content_filter) or the upstream's own, when the
	// relay saw it; for traces.
	FinishReason string
}

// Total is prompt plus completion tokens.
func (u Usage) Total() int64 { return u.PromptTokens + u.CompletionTokens }

// Zero reports whether no token was counted.
func (u Usage) Zero() bool {
	return u.PromptTokens == 0 && u.CompletionTokens == 0 && u.CacheReadTokens == 0 && u.CacheWriteTokens == 0 && u.ReasoningTokens == 0
}

// Price is what a model's tokens cost, in USD per million.
type Price struct {
	Input, Output, CacheRead, CacheWrite float64
}

// Cost is the USD cost of u at p: cached prompt tokens at CacheRead,
// prompt tokens written to the cache at CacheWrite, the other prompt tokens
// at Input, completion tokens (reasoning included) at Output.
func (p Price) Cost(u Usage) float64 {
	plain := u.PromptTokens - u.CacheReadTokens - u.CacheWriteTokens
	if plain < 0 {
		plain = 0
	}
	return (float64(plain)*p.Input + float64(u.CacheReadTokens)*p.CacheRead +
		float64(u.CacheWriteTokens)*p.CacheWrite + float64(u.CompletionTokens)*p.Output) / 1e6
}
