package llm

import (
	"math"
	"testing"
)

// Cached prompt tokens at cache_read, written ones at cache_write, the rest
// at input, completion (reasoning included) at output.
func TestPriceCost(t *testing.T) {
	p := Price{Input: 3, Output: 15, CacheRead: 0.3, CacheWrite: 3.75}
	u := Usage{PromptTokens: 100_000, CacheReadTokens: 80_000, CacheWriteTokens: 10_000, CompletionTokens: 2_000, ReasoningTokens: 500}
	want := (10_000*3 + 80_000*0.3 + 10_000*3.75 + 2_000*15) / 1e6
	if got := p.Cost(u); math.Abs(got-want) > 1e-12 {
		t.Fatalf("cost %v, want %v", got, want)
	}
	// Charging cache reads at the full input price would be 4.6 times as much here.
	if full := (Price{Input: 3, Output: 15, CacheRead: 3, CacheWrite: 3}).Cost(u); full < 2*want {
		t.Fatalf("cache discount not applied: %v vs %v", want, full)
	}
	// Inconsistent figures never give a negative plain part.
	if got := p.Cost(Usage{PromptTokens: 10, CacheReadTokens: 20}); got != 20*0.3/1e6 {
		t.Fatalf("cost %v", got)
	}
}
