package anthropic

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers/openai"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// discard is a client connection that drops what it is sent.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}

// BenchmarkRequest translates a chat request with a system prompt, tool
// calls and results, an image and two tools.
func BenchmarkRequest(b *testing.B) {
	body := goldenfile.Read(b, filepath.Join("testdata", "request", "tools.json"))
	c := callFor(body)
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendRequest(buf[:0], c, DefaultMaxTokens)
	}
}

// BenchmarkResponse translates a message with text and two tool calls.
func BenchmarkResponse(b *testing.B) {
	msg := goldenfile.Read(b, filepath.Join("testdata", "response", "tool_use.json"))
	c := callFor([]byte(`{"model":"m","messages":[]}`))
	d := &discard{h: make(http.Header)}
	r := bytes.NewReader(msg)
	resp := upstreamResponse("application/json", r)
	resp.ContentLength = int64(len(msg))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(msg)
		clear(d.h)
		if _, err := writeMessage(stream.NewWriter(d), resp, c); err != nil {
			b.Fatal(err)
		}
	}
}

// benchStream is a Messages API stream of n text deltas and two tool
// calls, as Anthropic sends it.
func benchStream(n int) []byte {
	var s strings.Builder
	s.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n")
	s.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	s.WriteString("event: ping\ndata: {\"type\": \"ping\"}\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&s, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"token %d \"}}\n\n", i)
	}
	s.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	for k := 1; k <= 2; k++ {
		fmt.Fprintf(&s, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":%d,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_%d\",\"name\":\"get_weather\",\"input\":{}}}\n\n", k, k)
		fmt.Fprintf(&s, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":%d,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}\n\n", k)
		fmt.Fprintf(&s, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":%d,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}\n\n", k)
		fmt.Fprintf(&s, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":%d}\n\n", k)
	}
	s.WriteString("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":150}}\n\n")
	s.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	return []byte(s.String())
}

// BenchmarkStream translates a stream of 100 text deltas and two tool
// calls, with the usage chunk.
func BenchmarkStream(b *testing.B) {
	sse := benchStream(100)
	c := callFor([]byte(`{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true}}`))
	benchRelay(b, sse, func(w llm.ResponseWriter, resp *http.Response) (llm.Usage, error) {
		return writeStream(w, resp, c)
	})
}

// BenchmarkPassthroughStream relays an OpenAI stream of the same length
// through the openai provider, for comparison.
func BenchmarkPassthroughStream(b *testing.B) {
	var s strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&s, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token %d \"},\"logprobs\":null,\"finish_reason\":null}]}\n\n", i)
	}
	s.WriteString("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n")
	s.WriteString("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":25,\"completion_tokens\":150,\"total_tokens\":175}}\n\ndata: [DONE]\n\n")
	c := callFor([]byte(`{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true}}`))
	benchRelay(b, []byte(s.String()), func(w llm.ResponseWriter, resp *http.Response) (llm.Usage, error) {
		return openai.Relay(w, resp, c)
	})
}

func benchRelay(b *testing.B, sse []byte, relay func(llm.ResponseWriter, *http.Response) (llm.Usage, error)) {
	d := &discard{h: make(http.Header)}
	r := bytes.NewReader(sse)
	resp := upstreamResponse(stream.ContentType, r)
	b.SetBytes(int64(len(sse)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(sse)
		clear(d.h)
		if _, err := relay(stream.NewWriter(d), resp); err != nil {
			b.Fatal(err)
		}
	}
}
