package openai

import (
	"testing"

	"github.com/tidwall/gjson"
)

// A translated hub body loses the hub's extensions before it goes to an
// OpenAI-compatible upstream; everything else stays.
func TestWithoutHubExtensions(t *testing.T) {
	in := `{"model":"m","top_k":5,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[` +
		`{"role":"system","content":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral"}}]},` +
		`{"role":"assistant","content":"a","reasoning_content":"r","thinking_blocks":[{"type":"thinking","thinking":"t","signature":"s"}],"cache_control":{"type":"ephemeral"}},` +
		`{"role":"user","content":"u"}],"tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"ephemeral"}}],"temperature":0.5}`
	out := WithoutHubExtensions([]byte(in))
	for _, gone := range []string{"top_k", "thinking", "messages.0.content.0.cache_control", "messages.1.reasoning_content", "messages.1.thinking_blocks", "messages.1.cache_control", "tools.0.cache_control"} {
		if gjson.GetBytes(out, gone).Exists() {
			t.Errorf("%s kept: %s", gone, out)
		}
	}
	for path, want := range map[string]string{"model": "m", "messages.0.content.0.text": "sys", "messages.1.content": "a", "messages.2.content": "u", "tools.0.function.name": "f", "temperature": "0.5"} {
		if got := gjson.GetBytes(out, path).String(); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	plain := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	if got := WithoutHubExtensions(plain); &got[0] != &plain[0] {
		t.Error("a body without extensions was copied")
	}
}
