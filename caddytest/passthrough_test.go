package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// The request body reaches an OpenAI-compatible upstream byte for byte,
// except `model`; the response reaches the client unchanged.
func TestPassthroughBodyFidelity(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router(`
		target a {
			base_url `+up.BaseURL()+`
			api_key sk-upstream-secret
			model_map gpt-x upstream-x
		}`))
	body := `{ "model" : "gpt-x",  "messages":[{"role":"user","content":"hé \u00e9 \"q\""}],
	"temperature": 1.50, "top_p":1e0, "x_unknown": {"b":2,"a":[1, 2.0]} }`
	r := do(t, "/v1/chat/completions", body)
	expectStatus(t, r, 200)
	got := string(up.Last().Body)
	want := strings.Replace(body, `"gpt-x"`, `"upstream-x"`, 1)
	if got != want {
		t.Fatalf("upstream body\n got %q\nwant %q", got, want)
	}
	if h := up.Last().Header.Get("Authorization"); h != "Bearer sk-upstream-secret" {
		t.Errorf("upstream Authorization %q", h)
	}
	if r.Header.Get("X-LLM-Target") != "a" || r.Header.Get("X-LLM-Model") != "upstream-x" || r.Header.Get("X-LLM-Attempts") != "1" {
		t.Errorf("routing headers: %v", r.Header)
	}
	if r.json("usage.prompt_tokens").Int() != fakeupstream.FakePromptTokens {
		t.Errorf("response changed: %s", r.Body)
	}
}

// Streams inject include_usage upstream and strip the usage chunk again
// when the client did not ask for it.
func TestStreamUsageInjectedAndStripped(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router(`
		target a {
			base_url `+up.BaseURL()+`
		}`))
	resp := post(t, "/v1/chat/completions", chat("m", `"stream":true`))
	events := readSSE(t, resp)
	if got := string(up.Last().Body); !strings.HasSuffix(got, `,"stream":true,"stream_options":{"include_usage":true}}`) {
		t.Fatalf("upstream body %s", got)
	}
	if len(events) == 0 || events[len(events)-1].Data != "[DONE]" {
		t.Fatalf("stream did not end with [DONE]: %v", events)
	}
	for _, e := range events {
		if strings.Contains(e.Data, `"choices":[]`) {
			t.Fatalf("usage chunk reached a client that did not ask: %s", e.Data)
		}
	}
	if c := contentOf(events); c != "tok0 tok1 tok2 " {
		t.Fatalf("content %q", c)
	}

	resp = post(t, "/v1/chat/completions", chat("m", `"stream":true`, `"stream_options":{"include_usage":true}`))
	events = readSSE(t, resp)
	found := false
	for _, e := range events {
		if strings.Contains(e.Data, `"choices":[]`) && strings.Contains(e.Data, `"usage":{`) {
			found = true
		}
	}
	if !found {
		t.Fatalf("usage chunk missing for a client that asked: %v", events)
	}
}

// Finished streams and answers leave their upstream connection reusable:
// twenty requests one after another, streamed and not, over one connection.
func TestUpstreamConnectionReuse(t *testing.T) {
	for _, tc := range []struct{ name, cfg string }{
		{"openai", "base_url %s/v1"},
		{"anthropic", "provider anthropic\n base_url %s\n api_key k"},
		{"gemini", "provider gemini\n base_url %s\n api_key k"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var up *fakeupstream.Server
			switch tc.name {
			case "openai":
				up = fakeupstream.NewOpenAI(t, "a")
			case "anthropic":
				up = fakeupstream.NewAnthropic(t, "a")
			case "gemini":
				up = fakeupstream.NewGemini(t, "a")
			}
			load(t, router("target a {\n "+fmt.Sprintf(tc.cfg, up.URL)+"\n}"))
			for i := 0; i < 20; i++ {
				if i%2 == 0 {
					events := readSSE(t, post(t, "/v1/chat/completions", chat("m-1", `"stream":true`)))
					if len(events) < 3 || events[len(events)-1].Data != "[DONE]" {
						t.Fatalf("stream %d: %v", i, events)
					}
				} else {
					expectStatus(t, do(t, "/v1/chat/completions", chat("m-1")), 200)
				}
			}
			if n := up.Conns(); n != 1 {
				t.Fatalf("20 sequential requests opened %d upstream connections, want 1", n)
			}
		})
	}
}
