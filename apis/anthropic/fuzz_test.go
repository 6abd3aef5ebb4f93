package anthropic

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// Any client body: Parse, ToHub and the token estimate never panic, and a
// request that parses always translates to a JSON object or an
// Anthropic-style 400.
func FuzzToHub(f *testing.F) {
	for _, path := range fixtures(f, "tohub", ".json") {
		f.Add(goldenfile.Read(f, path))
	}
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","content":[{"type":"image","source":{}}]}]}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","input":"x"},{"type":"thinking"}]}],"system":[{"type":"image"}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"\ud800 \u2028"}],"tools":[{"type":null},{"type":"web_search_20250305"}],"tool_choice":"any"}`))
	f.Add([]byte(`{"model":"m","max_tokens":1.5,"messages":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = EstimateTokens(body)
		if !json.Valid(body) || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			return // the router refuses these before Parse
		}
		req, e := parse(t, body, nil)
		if e != nil {
			if e.Status != 400 {
				t.Fatalf("parse error %+v", e)
			}
			return
		}
		hub, e := API{}.ToHub(req)
		if e != nil {
			if e.Status != 400 {
				t.Fatalf("ToHub error %+v", e)
			}
			return
		}
		if !json.Valid(hub) || hub[0] != '{' {
			t.Fatalf("invalid hub body for %q:\n%s", body, hub)
		}
	})
}

// Any hub event stream, written in any pieces: the encoder never panics,
// and when it finishes the client has a well-formed Anthropic event stream
// in Anthropic's order.
func FuzzEncoder(f *testing.F) {
	for _, path := range fixtures(f, "stream", ".sse") {
		f.Add(goldenfile.Read(f, path), uint8(0))
	}
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":-5,\"function\":{\"arguments\":\"\\u0000\"}}]}}]}\n\ndata: [DONE]\n\n"), uint8(3))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"thinking_blocks\":[{\"type\":\"thinking\",\"signature\":\"s\"},{\"type\":\"redacted_thinking\"}]}}]}\n\n"), uint8(1))
	f.Add([]byte("data: {\"error\":{\"message\":\"x\"}}\n\n"), uint8(0))
	f.Add([]byte("data: [DONE]\n\ndata: {\"choices\":[]}\n\n"), uint8(2))
	f.Fuzz(func(t *testing.T, hub []byte, piece uint8) {
		rec, err := encode(t, streamReq(t), stream.ContentType, hub, int(piece), nil)
		if err != nil {
			if _, ok := err.(*llm.Error); !ok {
				t.Fatalf("error %v", err)
			}
			return
		}
		checkEvents(t, rec.Body.Bytes(), false)
	})
}

// Any hub JSON answer: the translation never panics and, when it succeeds,
// writes a JSON message (or, streamed, well-formed events).
func FuzzMessage(f *testing.F) {
	for _, path := range fixtures(f, "message", ".json") {
		f.Add(goldenfile.Read(f, path), false)
	}
	f.Add([]byte(`{"choices":[{"message":{"content":[{"type":"text"}],"tool_calls":[{"function":{"arguments":{}}}]}}]}`), true)
	f.Fuzz(func(t *testing.T, hub []byte, streamed bool) {
		req := streamReq(t)
		req.Stream = streamed
		rec, err := encode(t, req, "application/json", hub, 0, nil)
		if err != nil {
			return
		}
		if streamed {
			checkEvents(t, rec.Body.Bytes(), false)
		} else if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("invalid message for %q:\n%s", hub, rec.Body)
		}
	})
}
