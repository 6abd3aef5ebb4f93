package anthropic

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/stream"
)

// claudeCodeRequest is a request of the size and shape Claude Code sends
// mid-session: a 7 KB system prompt in cached blocks, 12 tools with
// schemas, and 20 tool-loop turns (Bash calls and their output).
func claudeCodeRequest() []byte {
	var b strings.Builder
	b.WriteString(`{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,"thinking":{"type":"adaptive"},"metadata":{"user_id":"{\"device_id\":\"d\",\"session_id\":\"s\"}"},`)
	b.WriteString(`"system":[{"type":"text","text":"x-anthropic-billing-header: cc"},{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}},{"type":"text","text":`)
	b.WriteString(fmt.Sprintf("%q", strings.Repeat("Follow the instructions carefully and use the tools. ", 130)))
	b.WriteString(`,"cache_control":{"type":"ephemeral"}}],"tools":[`)
	for i := 0; i < 12; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"Tool%d","description":%q,"input_schema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"command":{"type":"string","description":"The command to run"},"timeout":{"type":"number"},"description":{"type":"string"}},"required":["command"],"additionalProperties":false}}`,
			i, strings.Repeat("Runs a command in a shell and returns its output. ", 40))
	}
	b.WriteString(`],"messages":[{"role":"user","content":[{"type":"text","text":"<system-reminder>context</system-reminder>"},{"type":"text","text":"Fix the failing test."}]}`)
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, `,{"role":"assistant","content":[{"type":"text","text":"Let me run step %d."},{"type":"tool_use","id":"toolu_%02d","name":"Tool1","input":{"command":"go test ./... -run Test%d","description":"Run tests"}}]}`, i, i, i)
		fmt.Fprintf(&b, `,{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_%02d","content":%q}]}`, i, strings.Repeat("--- FAIL: TestSomething (0.00s)\n    x_test.go:12: got 1, want 2\n", 12))
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// hubStream is a hub answer stream of Claude Code's size: 200 text deltas,
// then two tool calls whose arguments come in 30 pieces each, the finish
// and usage chunks and [DONE].
func hubStream() []byte {
	var b strings.Builder
	head := `data: {"id":"chatcmpl-b","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":`
	b.WriteString(head + `{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n")
	for i := 0; i < 200; i++ {
		b.WriteString(head + `{"content":"word "},"finish_reason":null}]}` + "\n\n")
	}
	for k := 0; k < 2; k++ {
		fmt.Fprintf(&b, head+`{"tool_calls":[{"index":%d,"id":"call_%d","type":"function","function":{"name":"Bash","arguments":""}}]},"finish_reason":null}]}`+"\n\n", k, k)
		for i := 0; i < 30; i++ {
			fmt.Fprintf(&b, head+`{"tool_calls":[{"index":%d,"function":{"arguments":"{\"a\":1}"}}]},"finish_reason":null}]}`+"\n\n", k)
		}
	}
	b.WriteString(head + `{},"finish_reason":"tool_calls"}]}` + "\n\n")
	b.WriteString(`data: {"id":"chatcmpl-b","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":30000,"completion_tokens":300,"total_tokens":30300,"prompt_tokens_details":{"cached_tokens":25000}}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return []byte(b.String())
}

// discard is a client connection that forgets what it gets.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}

func BenchmarkToHub(b *testing.B) {
	body := claudeCodeRequest()
	req, e := parse(b, body, nil)
	if e != nil {
		b.Fatal(e)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, e := (API{}).ToHub(req); e != nil {
			b.Fatal(e)
		}
	}
}

// BenchmarkEncoderStream translates a hub stream as providers write it:
// one write per event.
func BenchmarkEncoderStream(b *testing.B) {
	req, _ := parse(b, claudeCodeRequest(), nil)
	hub := hubStream()
	var events [][]byte
	for _, ev := range strings.SplitAfter(string(hub), "\n\n") {
		if ev != "" {
			events = append(events, []byte(ev))
		}
	}
	b.SetBytes(int64(len(hub)))
	b.ReportAllocs()
	for b.Loop() {
		w := stream.NewWriter(&discard{h: http.Header{}})
		enc := API{}.NewEncoder(w, req)
		enc.Header()["Content-Type"] = []string{stream.ContentType}
		for _, ev := range events {
			if _, err := enc.Write(ev); err != nil {
				b.Fatal(err)
			}
			_ = enc.Flush()
		}
		if err := enc.Finish(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncoderMessage(b *testing.B) {
	req, _ := parse(b, claudeCodeRequest(), nil)
	req.Stream = false
	answer := []byte(`{"id":"chatcmpl-m","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		strings.Repeat("word ", 200) + `","tool_calls":[{"id":"call_1","type":"function","function":{"name":"Bash","arguments":"{\"command\":\"go test ./...\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":30000,"completion_tokens":300,"total_tokens":30300}}`)
	b.SetBytes(int64(len(answer)))
	b.ReportAllocs()
	for b.Loop() {
		w := stream.NewWriter(&discard{h: http.Header{}})
		enc := API{}.NewEncoder(w, req)
		enc.Header()["Content-Type"] = []string{"application/json"}
		enc.WriteHeader(http.StatusOK)
		_, _ = enc.Write(answer)
		if err := enc.Finish(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEstimateTokens(b *testing.B) {
	body := claudeCodeRequest()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if EstimateTokens(body) == 0 {
			b.Fatal("no tokens")
		}
	}
}
