package responses

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// codexRequest is a request of the size and shape Codex sends after a
// few turns: ~20 KB of developer instructions, eight function tools and a
// namespace, and 20 rounds of a shell call with its output.
func codexRequest() []byte {
	var b strings.Builder
	b.WriteString(`{"model":"claude-sonnet-4-5","stream":true,"store":false,"parallel_tool_calls":true,"tool_choice":"auto","reasoning":{"summary":"auto"},"include":["reasoning.encrypted_content"],"prompt_cache_key":"01a2","input":[`)
	b.WriteString(`{"type":"message","role":"developer","content":[{"type":"input_text","text":"`)
	b.WriteString(strings.Repeat(`You are a coding agent. Be precise, safe and helpful.\n`, 380))
	b.WriteString(`"}]},{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context><cwd>/work</cwd></environment_context>"}]}`)
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, `,{"type":"message","role":"user","content":[{"type":"input_text","text":"Step %d: list the files and fix the \"bug\"."}]}`, i)
		fmt.Fprintf(&b, `,{"type":"reasoning","id":"rs_%d","summary":[{"type":"summary_text","text":"Looking at the files."}],"encrypted_content":"%s"}`, i, strings.Repeat("Z", 400))
		fmt.Fprintf(&b, `,{"type":"function_call","id":"fc_%d","call_id":"call_%d","name":"exec_command","arguments":"{\"cmd\":\"ls -la src/%d\"}"}`, i, i, i)
		fmt.Fprintf(&b, `,{"type":"function_call_output","call_id":"call_%d","output":"%s"}`, i, strings.Repeat(`-rw-r--r-- 1 user user 1024 main.go\n`, 20))
		fmt.Fprintf(&b, `,{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Done with step %d."}]}`, i)
	}
	b.WriteString(`],"tools":[`)
	for i := 0; i < 8; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"function","name":"tool_%d","description":"Runs a command in a PTY, returning output or a session ID.","strict":false,"parameters":{"type":"object","properties":{"cmd":{"type":"string","description":"Shell command to execute."},"workdir":{"type":"string"},"yield_time_ms":{"type":"number"},"tty":{"type":"boolean"}},"required":["cmd"],"additionalProperties":false}}`, i)
	}
	b.WriteString(`,{"type":"namespace","name":"agents","description":"Sub-agents.","tools":[{"type":"function","name":"spawn_agent","parameters":{"type":"object","properties":{"task":{"type":"string"}}}}]}]}`)
	return []byte(b.String())
}

// codexStream is a hub stream of the size Codex gets back: 50 reasoning
// deltas, 200 text deltas and a tool call in 20 pieces, then usage.
func codexStream() []byte {
	var b strings.Builder
	chunk := func(delta string, finish string) {
		fr := "null"
		if finish != "" {
			fr = `"` + finish + `"`
		}
		fmt.Fprintf(&b, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"claude-sonnet-4-5","choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`+"\n\n", delta, fr)
	}
	chunk(`{"role":"assistant","content":""}`, "")
	for i := 0; i < 50; i++ {
		chunk(`{"reasoning_content":"thinking about it "}`, "")
	}
	for i := 0; i < 200; i++ {
		chunk(`{"content":"word \"quoted\" "}`, "")
	}
	chunk(`{"tool_calls":[{"index":0,"id":"toolu_1","type":"function","function":{"name":"tool_0","arguments":""}}]}`, "")
	for i := 0; i < 20; i++ {
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"cmd\":\"echo"}}]}`, "")
	}
	chunk(`{}`, "tool_calls")
	b.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"claude-sonnet-4-5","choices":[],"usage":{"prompt_tokens":12000,"completion_tokens":900,"total_tokens":12900,"prompt_tokens_details":{"cached_tokens":11000}}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return []byte(b.String())
}

func benchRequest(b *testing.B, body []byte) *apis.Request {
	req, e := API{}.Parse(httptest.NewRequest(http.MethodPost, "/v1/responses", nil), body, apis.Route{Op: llm.OpResponses})
	if e != nil {
		b.Fatal(e)
	}
	return req
}

func BenchmarkToHubCodex(b *testing.B) {
	body := codexRequest()
	req := benchRequest(b, body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, e := (API{}).ToHub(req); e != nil {
			b.Fatal(e)
		}
	}
}

func BenchmarkParseCodex(b *testing.B) {
	body := codexRequest()
	r := httptest.NewRequest(http.MethodPost, "/v1/responses", nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, e := (API{}).Parse(r, body, apis.Route{Op: llm.OpResponses}); e != nil {
			b.Fatal(e)
		}
	}
}

// The encoder on a Codex-sized stream, written event by event as
// providers write it.
func BenchmarkEncoderCodexStream(b *testing.B) {
	req := benchRequest(b, codexRequest())
	hub := codexStream()
	var events [][]byte
	for _, ev := range strings.SplitAfter(string(hub), "\n\n") {
		if ev != "" {
			events = append(events, []byte(ev))
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(hub)))
	for b.Loop() {
		w := stream.NewWriter(discard{})
		enc := API{}.NewEncoder(w, req)
		enc.Header()["Content-Type"] = []string{"text/event-stream"}
		for _, ev := range events {
			if _, err := enc.Write(ev); err != nil {
				b.Fatal(err)
			}
		}
		if err := enc.Finish(); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}
