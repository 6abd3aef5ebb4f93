package integration

// The Responses API translated for targets of other wire formats: what the
// translation refuses, failures inside a translated stream, a JSON answer
// to a streamed request, and streams through `encode gzip`.

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// namedEvent renders one named SSE event with v as its data.
func namedEvent(name string, v any) string {
	b, _ := json.Marshal(v)
	return "event: " + name + "\ndata: " + string(b) + "\n\n"
}

func responsesTranslateConfig(claude, gpt *fakeupstream.Server) string {
	return router(fast + `
		retries 0
		target claude {
			provider anthropic
			base_url ` + claude.URL + `
			api_key sk-ant-upstream
			models claude-*
		}
		target gpt {
			base_url ` + gpt.BaseURL() + `
			api_key sk-openai-upstream
			models gpt-*
		}
		model mixed {
			strategy fallback
			to claude claude-sonnet-4-5
			to gpt gpt-5
		}`)
}

// Stateful and hosted features get 400 unsupported naming the parameter
// when only translated targets could serve them; a candidate that passes
// them through serves them instead.
func TestResponsesAPITranslateUnsupported(t *testing.T) {
	claude := fakeupstream.NewAnthropic(t, "claude")
	gpt := fakeupstream.NewOpenAI(t, "gpt")
	load(t, responsesTranslateConfig(claude, gpt))
	for body, param := range map[string]string{
		`{"model":"claude-sonnet-4-5","input":"go on","previous_response_id":"resp_1"}`:                                "previous_response_id",
		`{"model":"claude-sonnet-4-5","input":"x","tool_choice":{"type":"file_search"}}`:                               "tool_choice",
		`{"model":"claude-sonnet-4-5","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}`: "input[0].content[0].file_id",
	} {
		r := do(t, "/v1/responses", body)
		expectError(t, r, http.StatusBadRequest, "unsupported")
		if got := r.json("error.param").Str; got != param {
			t.Errorf("%s: param %q, want %q", body, got, param)
		}
	}
	if claude.Count() != 0 {
		t.Fatalf("the anthropic target was called %d times", claude.Count())
	}
	r := do(t, "/v1/responses", `{"model":"mixed","input":"go on","previous_response_id":"resp_1","store":true}`)
	expectStatus(t, r, http.StatusOK)
	expectRoute(t, r, "gpt", "gpt-5", 1)
	if gjson.GetBytes(gpt.Last().Body, "previous_response_id").Str != "resp_1" {
		t.Fatalf("upstream body %s", gpt.Last().Body)
	}

	// The same request without the stateful field goes to the first
	// candidate, translated; `store` is answered as false.
	r = do(t, "/v1/responses", `{"model":"mixed","input":"hi","store":true,"metadata":{"k":"v"}}`)
	expectStatus(t, r, http.StatusOK)
	expectRoute(t, r, "claude", "claude-sonnet-4-5", 1)
	if r.json("store").Type != gjson.False || r.json("object").Str != "response" || !strings.HasPrefix(r.json("id").Str, "resp_") ||
		r.json("metadata.k").Str != "v" || r.json("output.0.content.0.text").Str == "" {
		t.Fatalf("answer %s", r.Body)
	}
}

// A failure inside a translated stream ends it with response.failed
// carrying the provider's error; a stream request answered with one JSON
// message is streamed to the client whole.
func TestResponsesAPITranslateStreamEnds(t *testing.T) {
	claude := fakeupstream.NewAnthropic(t, "claude")
	gpt := fakeupstream.NewOpenAI(t, "gpt")
	load(t, responsesTranslateConfig(claude, gpt))

	claude.Script(fakeupstream.Step{ErrorAfter: 2})
	r := do(t, "/v1/responses", `{"model":"claude-sonnet-4-5","input":"hi","stream":true}`)
	expectStatus(t, r, http.StatusOK)
	events := readResponsesEvents(t, string(r.Body))
	last := events[len(events)-1]
	if last.Name != "response.failed" || last.Data.Get("response.status").Str != "failed" ||
		last.Data.Get("response.error.code").Str != "overloaded_error" || last.Data.Get("response.error.message").Str != "Overloaded" {
		t.Fatalf("events %v, last %s", eventNames(events), last.Data.Raw)
	}
	for i, e := range events {
		if e.Data.Get("sequence_number").Int() != int64(i) {
			t.Fatalf("event %d (%s) has sequence_number %d", i, e.Name, e.Data.Get("sequence_number").Int())
		}
	}
	if strings.Contains(string(r.Body), "[DONE]") {
		t.Fatal("a Responses stream carries no [DONE]")
	}

	msg := `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Whole answer."}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":7}}`
	claude.Script(fakeupstream.Step{Body: msg})
	r = do(t, "/v1/responses", `{"model":"claude-sonnet-4-5","input":"hi","stream":true,"max_output_tokens":7}`)
	expectStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events = readResponsesEvents(t, string(r.Body))
	last = events[len(events)-1]
	if eventNames(events)[0] != "response.created" || last.Name != "response.incomplete" ||
		last.Data.Get("response.incomplete_details.reason").Str != "max_output_tokens" ||
		last.Data.Get("response.output.0.content.0.text").Str != "Whole answer." || last.Data.Get("response.usage.output_tokens").Int() != 7 {
		t.Fatalf("events %v, last %s", eventNames(events), last.Data.Raw)
	}
}

// Behind `encode gzip` a translated stream still arrives event by event:
// the first delta before the upstream sends the next.
func TestResponsesAPITranslateStreamThroughGzip(t *testing.T) {
	claude := fakeupstream.NewAnthropic(t, "claude")
	load(t, "encode gzip\n"+router(fast+`
		target claude {
			provider anthropic
			base_url `+claude.URL+`
			api_key sk-ant-upstream
		}`))
	type obj = map[string]any
	gate := make(chan struct{})
	claude.Script(fakeupstream.Step{Gate: gate, SSE: []string{
		namedEvent("message_start", obj{"type": "message_start", "message": obj{"id": "m", "type": "message", "role": "assistant", "model": "claude-x", "content": []any{}, "usage": obj{"input_tokens": 3, "output_tokens": 1}}}) +
			namedEvent("content_block_start", obj{"type": "content_block_start", "index": 0, "content_block": obj{"type": "text", "text": ""}}) +
			namedEvent("content_block_delta", obj{"type": "content_block_delta", "index": 0, "delta": obj{"type": "text_delta", "text": "first"}}),
		namedEvent("content_block_delta", obj{"type": "content_block_delta", "index": 0, "delta": obj{"type": "text_delta", "text": " second"}}) +
			namedEvent("content_block_stop", obj{"type": "content_block_stop", "index": 0}) +
			namedEvent("message_delta", obj{"type": "message_delta", "delta": obj{"stop_reason": "end_turn"}, "usage": obj{"output_tokens": 2}}) +
			namedEvent("message_stop", obj{"type": "message_stop"}),
	}})
	resp := open(t, context.Background(), http.MethodPost, "/v1/responses", `{"model":"claude-x","input":"hi","stream":true}`, "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(got.String(), `"delta":"first"`) {
		n, err := zr.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("stream ended before the first delta: %v\n%s", err, got.String())
		}
	}
	close(gate)
	rest, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	got.Write(rest)
	events := readResponsesEvents(t, got.String())
	if last := events[len(events)-1]; last.Name != "response.completed" || last.Data.Get("response.output.0.content.0.text").Str != "first second" {
		t.Fatalf("events %v", eventNames(events))
	}
}
