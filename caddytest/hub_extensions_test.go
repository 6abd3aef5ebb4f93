package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// A request translated from another API reaches an OpenAI-compatible
// upstream without the hub's extensions (thinking, top_k, cache_control,
// thinking blocks), which OpenAI's API would refuse; an OpenAI client's
// own body keeps whatever it sent.
func TestHubExtensionsNotSentToOpenAI(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	load(t, router(fmt.Sprintf(`target gpt {
		base_url %s
	}`, up.BaseURL())))
	r := do(t, "/v1/messages", `{"model":"gpt-4o","max_tokens":100,"top_k":3,"thinking":{"type":"enabled","budget_tokens":1024},`+
		`"system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}],`+
		`"tools":[{"name":"f","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],`+
		`"messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]},`+
		`{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"text","text":"ok"}]},`+
		`{"role":"user","content":"go on"}]}`, "x-api-key", "k")
	expectStatus(t, r, 200)
	body := string(up.Last().Body)
	for _, ext := range []string{`"cache_control"`, `"thinking"`, `"top_k"`, `"thinking_blocks"`, `"reasoning_content"`} {
		if strings.Contains(body, ext) {
			t.Fatalf("upstream got %s: %s", ext, body)
		}
	}
	// An OpenAI client's own fields pass through unchanged.
	r = do(t, "/v1/chat/completions", `{"model":"gpt-4o","top_k":3,"messages":[{"role":"user","content":"hi"}]}`)
	expectStatus(t, r, 200)
	if !strings.Contains(string(up.Last().Body), `"top_k":3`) {
		t.Fatalf("upstream body %s", up.Last().Body)
	}
}
