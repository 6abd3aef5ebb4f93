package responses

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// FuzzToHub: whatever a client sends, parsing and the translation do not
// panic, and a translated body is one JSON object.
func FuzzToHub(f *testing.F) {
	for _, p := range []string{"request/items.json", "request/tools.json", "request/custom_calls.json", "request/json_schema.json", "request/allowed_tools.json"} {
		f.Add(goldenfile.Read(f, "testdata/"+p))
	}
	f.Add([]byte(`{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_image"}]}]}`))
	f.Add([]byte(`{"model":"m","input":[{"role":"assistant","content":[{"type":"x"}]},{"type":"reasoning"}],"tools":[{"type":"namespace","tools":[{}]}]}`))
	f.Add([]byte(`{"model":"m","instructions":["x"],"input":null,"tool_choice":{"type":"allowed_tools","mode":"auto","tools":[1]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) || llm.CheckJSON(body, llm.MaxDepth) != nil || len(strings.TrimSpace(string(body))) == 0 || strings.TrimSpace(string(body))[0] != '{' {
			return
		}
		r := httptest.NewRequest(http.MethodPost, "/v1/responses", nil)
		req, e := API{}.Parse(r, body, apis.Route{Op: llm.OpResponses})
		if e != nil {
			if e.Status != http.StatusBadRequest || e.Message == "" {
				t.Fatalf("parse error %+v", e)
			}
			return
		}
		hub, e := API{}.ToHub(req)
		if e != nil {
			if e.Status != http.StatusBadRequest || e.Message == "" || e.Code == "" {
				t.Fatalf("translation error %+v", e)
			}
			return
		}
		var v map[string]any
		if err := json.Unmarshal(hub, &v); err != nil {
			t.Fatalf("hub body is not a JSON object: %v\n%s", err, hub)
		}
		if _, ok := v["messages"].([]any); !ok {
			t.Fatalf("hub body without messages: %s", hub)
		}
	})
}

// FuzzEncoder: whatever a provider writes (SSE or JSON, in any pieces),
// the encoder does not panic, and what reaches the client is a valid
// Responses stream (sequence numbers in order, one terminal event, last)
// or a JSON object, or nothing but an error.
func FuzzEncoder(f *testing.F) {
	for _, p := range []string{"stream/text.sse", "stream/tools_parallel.sse", "stream/reasoning.sse", "stream/length.sse", "stream/error_midway.sse"} {
		f.Add(goldenfile.Read(f, "testdata/"+p), true, "text/event-stream", uint8(0))
	}
	f.Add(goldenfile.Read(f, "testdata/answer/tool_calls.json"), true, "application/json", uint8(3))
	f.Add(goldenfile.Read(f, "testdata/answer/reasoning.json"), false, "application/json", uint8(0))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"x\"}},{\"id\":\"a\"}]}}]}\n\ndata: [DONE]"), true, "", uint8(1))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"content\":[{\"type\":\"text\",\"text\":\"a\"}],\"refusal\":\"r\"},\"finish_reason\":\"content_filter\"}]}\n\n"), false, "text/event-stream", uint8(2))
	f.Fuzz(func(t *testing.T, hub []byte, streamed bool, contentType string, piece uint8) {
		body := `{"model":"m","input":"x","tools":[{"type":"custom","name":"p"},{"type":"namespace","name":"n","tools":[{"type":"function","name":"f"}]}]}`
		if streamed {
			body = `{"model":"m","input":"x","stream":true}`
		}
		req, e := API{}.Parse(httptest.NewRequest(http.MethodPost, "/v1/responses", nil), []byte(body), apis.Route{Op: llm.OpResponses})
		if e != nil {
			t.Fatal(e)
		}
		rec := httptest.NewRecorder()
		w := stream.NewWriter(rec)
		enc := API{}.NewEncoder(w, req)
		enc.Header().Set("Content-Type", contentType)
		n := int(piece) + 1
		for p := hub; len(p) > 0; {
			k := min(n, len(p))
			if _, err := enc.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		if err := enc.Finish(); err != nil {
			if w.Committed() && !streamed {
				t.Fatalf("a failed non-streamed answer was committed: %v", err)
			}
			if w.Committed() {
				enc.StreamError(&llm.Error{Status: 502, Message: "boom"})
			}
		}
		out := rec.Body.String()
		switch {
		case out == "":
		case streamed:
			events, err := splitEvents(out)
			if err != nil {
				t.Fatal(err)
			}
			for i, ev := range events {
				if ev.Get("sequence_number").Int() != int64(i) {
					t.Fatalf("event %d has sequence_number %d", i, ev.Get("sequence_number").Int())
				}
				if isTerminal(ev.Get("type").Str) != (i == len(events)-1) {
					t.Fatalf("event %d: the terminal event must come once, last:\n%s", i, out)
				}
			}
		default:
			var v map[string]any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("not a JSON object: %v\n%s", err, out)
			}
		}
	})
}
