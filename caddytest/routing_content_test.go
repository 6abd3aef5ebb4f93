package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// `to … when …` (SPEC 13): short prompts to a cheap model, images to a
// vision model, the rest to a big one — for every strategy.
func TestContentRouting(t *testing.T) {
	for _, strategy := range []string{"fallback", "weighted", "latency", "least_busy", "cost", "sticky"} {
		t.Run(strategy, func(t *testing.T) {
			load(t, router(`
				target cheap {
					provider mock
					mock_response "from cheap"
				}
				target big {
					provider mock
					mock_response "from big"
				}
				target vision {
					provider mock
					mock_response "from vision"
				}
				target streamer {
					provider mock
					mock_response "from streamer"
				}
				model auto {
					strategy `+strategy+`
					to vision when images
					to cheap when prompt_tokens < 50 not images not stream
					to streamer when stream not images
					to big when prompt_tokens >= 50 not images not stream
				}`))
			long := strings.Repeat("many words here ", 40)
			image := `[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + strings.Repeat("QUJD", 3000) + `"}}]`
			for _, tc := range []struct{ content, extra, want string }{
				{`"hello"`, "", "cheap"},
				{fmt.Sprintf("%q", long), "", "big"},
				{image, "", "vision"},
				{image, `"stream":true`, "vision"},
				{`"hello"`, `"stream":true`, "streamer"},
			} {
				body := `{"model":"auto","messages":[{"role":"user","content":` + tc.content + `}]`
				if tc.extra != "" {
					body += "," + tc.extra
				}
				r := do(t, "/v1/chat/completions", body+"}")
				expectStatus(t, r, 200)
				if got := r.Header.Get("X-LLM-Target"); got != tc.want {
					t.Errorf("%.40s %s: answered by %s, want %s", tc.content, tc.extra, got, tc.want)
				}
			}
		})
	}
}

// A request no member qualifies for is refused, naming the alias.
func TestContentRoutingNoMember(t *testing.T) {
	load(t, router(`
		target a {
			provider mock
		}
		model only-images {
			to a when images
		}`))
	r := do(t, "/v1/chat/completions", chat("only-images"))
	expectError(t, r, 400, "unsupported")
	if !strings.Contains(r.json("error.message").Str, "only-images") {
		t.Fatalf("message %s", r.Body)
	}
}

// The body's `models` list is tried in order after the model and before
// the router's fallback list, and does not reach the upstream.
func TestClientModelsList(t *testing.T) {
	first := fakeupstream.NewOpenAI(t, "first").Always(fakeupstream.Step{Status: 503})
	second := fakeupstream.NewOpenAI(t, "second").Always(fakeupstream.Step{Status: 503})
	third := fakeupstream.NewOpenAI(t, "third")
	fallback := fakeupstream.NewOpenAI(t, "fallback")
	load(t, router(fmt.Sprintf(`
		target first {
			base_url %s
			models m1
		}
		target second {
			base_url %s
			models m2
		}
		target third {
			base_url %s
			models m3
		}
		target fb {
			base_url %s
			models m4
		}
		retries 0
		fallback fb`, first.BaseURL(), second.BaseURL(), third.BaseURL(), fallback.BaseURL())))
	r := do(t, "/v1/chat/completions", `{"model":"m1","models":["m2","unknown-model","m3"],"messages":[{"role":"user","content":"hi"}]}`)
	expectStatus(t, r, 200)
	if r.Header.Get("X-LLM-Target") != "third" || r.Header.Get("X-LLM-Attempts") != "3" || fallback.Count() != 0 {
		t.Fatalf("target %s attempts %s fallback %d", r.Header.Get("X-LLM-Target"), r.Header.Get("X-LLM-Attempts"), fallback.Count())
	}
	for _, s := range []*fakeupstream.Server{first, second, third} {
		body := s.Last().Body
		if gjson.GetBytes(body, "models").Exists() || !gjson.ValidBytes(body) {
			t.Fatalf("%s got %s", s.Name, body)
		}
	}
	if m := gjson.GetBytes(third.Last().Body, "model").Str; m != "m3" {
		t.Fatalf("third asked for %q", m)
	}
	// All of them down: the router's fallback last.
	third.Always(fakeupstream.Step{Status: 503})
	r = do(t, "/v1/chat/completions", `{"model":"m1","models":["m2","m3"],"messages":[{"role":"user","content":"hi"}]}`)
	expectStatus(t, r, 200)
	if r.Header.Get("X-LLM-Target") != "fb" {
		t.Fatalf("target %s", r.Header.Get("X-LLM-Target"))
	}
	// A bad list is the client's error.
	expectError(t, do(t, "/v1/chat/completions", `{"model":"m1","models":"m2","messages":[]}`), 400, "invalid_request")
}

// `?proxy=<target>` chooses the target as X-LLM-Target does; the header wins.
func TestProxyQueryParameter(t *testing.T) {
	load(t, router(`
		target a {
			provider mock
			models x
		}
		target b {
			provider mock
			models y
		}`))
	if r := do(t, "/v1/chat/completions?proxy=b", chat("x")); r.Status != 200 || r.Header.Get("X-LLM-Target") != "b" {
		t.Fatalf("status %d target %s", r.Status, r.Header.Get("X-LLM-Target"))
	}
	if r := do(t, "/v1/chat/completions?proxy=b", chat("x"), "X-LLM-Target", "a"); r.Header.Get("X-LLM-Target") != "a" {
		t.Fatalf("header lost to the query: %s", r.Header.Get("X-LLM-Target"))
	}
	expectError(t, do(t, "/v1/chat/completions?proxy=nosuch", chat("x")), 400, "unknown_target")
}
