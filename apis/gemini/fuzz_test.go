package gemini

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// isObject reports whether b is what the router hands an API: a valid
// JSON object.
func isObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}

// Any body the router accepts parses and translates without panicking, to
// valid JSON or to a 400.
func FuzzToHub(f *testing.F) {
	goldenfile.Seeds(f, "tohub/*.gemini.json")
	goldenfile.Seeds(f, "embeddings/*.gemini.json")
	f.Add([]byte(`{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f","args":{"a":[1,{"b":"\u00e9"}]}}}]},{"parts":[{"functionResponse":{"name":"f","response":"x"}}]}]}`))
	f.Add([]byte(`{"contents":[],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT","properties":"x","anyOf":{}}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !isObject(body) {
			return
		}
		for _, path := range []string{
			"/v1beta/models/m:streamGenerateContent", "/v1beta/models/m:embedContent",
			"/v1beta/models/m:batchEmbedContents", "/v1beta/models/m:countTokens",
		} {
			rt, _ := API{}.Match(path)
			r := httptest.NewRequest(http.MethodPost, path, nil)
			req, e := API{}.Parse(r, body, rt)
			if e != nil {
				if e.Status != 400 {
					t.Fatalf("parse error status %d", e.Status)
				}
				continue
			}
			_ = estimateTokens(body)
			out, e := req.Hub()
			if e != nil {
				if e.Status != 400 {
					t.Fatalf("error status %d", e.Status)
				}
				continue
			}
			if !json.Valid(out) {
				t.Fatalf("invalid hub JSON for %s:\n%s", body, out)
			}
		}
	})
}

// Whatever hub bytes a provider writes, the encoder does not panic, and
// what it sends is Gemini's framing around valid JSON.
func FuzzEncoder(f *testing.F) {
	goldenfile.Seeds(f, "stream/*.hub.sse")
	goldenfile.Seeds(f, "answer/*.hub.json")
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"{\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"index\":3,\"delta\":{\"content\":\"\\ud800\"}}]}\r\ndata:\n\n: c\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ct := range []string{"text/event-stream", "application/json"} {
			for _, streamed := range []bool{true, false} {
				rec := httptest.NewRecorder()
				w := stream.NewWriter(rec)
				enc := newEncoder(w, chatRequest(nil, streamed))
				enc.Header().Set("Content-Type", ct)
				_, _ = enc.Write(body)
				if err := enc.Finish(); err != nil {
					if _, ok := err.(*llm.Error); !ok {
						t.Fatalf("error %T %v", err, err)
					}
					continue
				}
				out := rec.Body.Bytes()
				if ct == "application/json" && !streamed {
					if !json.Valid(out) {
						t.Fatalf("invalid JSON answer for %q:\n%s", body, out)
					}
					continue
				}
				events := bytes.Split(out, []byte("\r\n\r\n"))
				for _, ev := range events[:len(events)-1] {
					data, ok := bytes.CutPrefix(ev, []byte("data: "))
					if !ok || !json.Valid(data) {
						t.Fatalf("bad event for %q:\n%q", body, ev)
					}
				}
				if len(events[len(events)-1]) != 0 {
					t.Fatalf("unterminated stream for %q:\n%q", body, out)
				}
			}
		}
	})
}
