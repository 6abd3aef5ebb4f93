package openai

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// FuzzRelay: whatever an upstream streams, the relay does not panic, and
// what reaches the client is whole SSE events taken from the input (the
// usage chunk aside), or nothing but an error.
func FuzzRelay(f *testing.F) {
	f.Add("data: "+chunk1+"\n\ndata: "+chunkStop+"\n\ndata: "+usageChunk+"\n\ndata: [DONE]\n\n", false)
	f.Add(": c\r\n\r\ndata: {\"error\":{\"message\":\"x\",\"code\":5}}\r\n\r\n", true)
	f.Add("data: {\"choices\":[],\"usage\":{}}\n\ndata: [DONE]", false)
	f.Add("event: x\ndata: a\ndata: b\n\n\n\ndata: {\"finish_reason\" : \"stop\"}\n\n", true)
	f.Add("data: "+strings.Repeat("x", 70000)+"\n\n", false)
	f.Fuzz(func(t *testing.T, in string, includeUsage bool) {
		rec := httptest.NewRecorder()
		w := stream.NewWriter(rec)
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(in))}
		_, err := Relay(w, resp, &llm.Call{Stream: true, IncludeUsage: includeUsage})
		out := rec.Body.Bytes()
		var pe *llm.Error
		if errors.As(err, &pe) && pe.Message == "" {
			t.Fatal("an error without a message")
		}
		if len(out) == 0 {
			return
		}
		if !bytes.HasSuffix(out, []byte("\n")) {
			t.Fatalf("output does not end an event: %q", out)
		}
		// Everything written is input bytes, or the [DONE] the relay adds.
		rest := bytes.TrimSuffix(out, []byte("data: [DONE]\n\n"))
		for _, line := range bytes.SplitAfter(rest, []byte("\n")) {
			// Blank lines may be added to end an event the input cut off.
			if line := bytes.TrimRight(line, "\r\n"); len(line) > 0 && !strings.Contains(in, string(line)) {
				t.Fatalf("line %q is not from the input", line)
			}
		}
	})
}
