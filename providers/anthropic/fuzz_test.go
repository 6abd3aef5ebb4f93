package anthropic

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// addFixtures seeds a fuzz target with the golden inputs of dir.
func addFixtures(f *testing.F, dir, ext string) {
	for _, path := range fixtures(f, dir, ext) {
		f.Add(goldenfile.Read(f, path))
	}
}

// Any client body: Check and the translation never panic, and a valid
// JSON body always gives a valid JSON object.
func FuzzRequest(f *testing.F) {
	addFixtures(f, "request", ".json")
	f.Add([]byte(`{"messages":[{"role":"tool"},{"role":"assistant","tool_calls":[{}]},{"content":[{"type":"image_url","image_url":"data:,"}]}]}`))
	f.Add([]byte(`{"messages":"x","tools":{},"stop":[1,null],"temperature":"hot","response_format":{"type":"json_schema","json_schema":null}}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`{"messages":[{"role":"user","content":"\ud800 \u2028 \"\\"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := callFor(body)
		_ = (Provider{}).Check(c)
		out := appendRequest(nil, c, DefaultMaxTokens)
		if json.Valid(body) && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			if !json.Valid(out) {
				t.Fatalf("invalid JSON for %q:\n%s", body, out)
			}
		}
	})
}

// Any upstream event stream: the translation never panics and writes a
// valid OpenAI event stream (each event one data line with a JSON object
// or [DONE]), whatever it returns.
func FuzzStream(f *testing.F) {
	addFixtures(f, "stream", ".sse")
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"index\":99,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\u0000\"}}\n\n"))
	f.Add([]byte("event: content_block_stop\ndata: {\"index\":-1}\n\nevent: message_stop\ndata:\n\n"))
	f.Add([]byte("event: error\ndata: {\"type\":\"error\",\"error\":\"text\"}\n\n"))
	body := []byte(`{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true},"response_format":{"type":"json_schema","json_schema":{"name":"person"}}}`)
	f.Fuzz(func(t *testing.T, sse []byte) {
		rec, _, _ := translateStream(t, callFor(body), sse)
		checkSSE(t, rec.Body.Bytes())
	})
}

// Any upstream message: the translation never panics and, when it
// succeeds, writes a valid JSON object.
func FuzzResponse(f *testing.F) {
	addFixtures(f, "response", ".json")
	f.Add([]byte(`{"type":"message","content":[{"type":"tool_use","input":"\u0000"},{"type":"text"}]}`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, body := range [][]byte{
			[]byte(`{"model":"m","messages":[]}`),
			[]byte(`{"model":"m","messages":[],"response_format":{"type":"json_object"}}`),
		} {
			out, _, e := appendCompletion(nil, msg, callFor(body))
			if e == nil && !json.Valid(out) {
				t.Fatalf("invalid JSON for %q:\n%s", msg, out)
			}
			if e != nil && e.Kind != llm.KindInvalid && e.Kind != llm.KindStream {
				t.Fatalf("error kind %d", e.Kind)
			}
		}
	})
}
