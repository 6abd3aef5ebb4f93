package integration

// The Responses API passed through to targets that speak it (openai,
// azure): bodies and streams byte for byte, errors as the upstream wrote
// them, failures inside a stream.

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// responsesEvent is one event of a Responses stream as the client read it.
type responsesEvent struct {
	Name string
	Data gjson.Result
}

// readResponsesEvents reads a whole Responses stream: `event:` and
// `data:` lines, checking that every event names its data's type.
func readResponsesEvents(t *testing.T, body string) []responsesEvent {
	t.Helper()
	var out []responsesEvent
	for _, block := range strings.Split(strings.TrimSpace(body), "\n\n") {
		var ev responsesEvent
		for _, line := range strings.Split(block, "\n") {
			line = strings.TrimSuffix(line, "\r")
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				ev.Name = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				ev.Data = gjson.Parse(v)
			}
		}
		if ev.Name == "" && !ev.Data.Exists() {
			continue // a comment
		}
		if ev.Data.Get("type").Str != ev.Name {
			t.Fatalf("event %q carries type %q: %s", ev.Name, ev.Data.Get("type").Str, block)
		}
		out = append(out, ev)
	}
	return out
}

// eventNames lists the events' names.
func eventNames(events []responsesEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Name)
	}
	return out
}

func responsesPassthroughConfig(up *fakeupstream.Server, extra string) string {
	return router(fast + `
		retries 0
		target gpt {
			base_url ` + up.BaseURL() + `
			api_key sk-upstream-secret
			model_map codex-mini gpt-5-codex
		}
		` + extra)
}

// The body reaches an openai target byte for byte but for its model: odd
// spacing, unknown fields, previous_response_id, store and another
// provider's encrypted reasoning included; the answer comes back
// unchanged.
func TestResponsesAPIPassthroughBody(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	answer := `{"id":"resp_up","object":"response","status":"completed","model":"gpt-5-codex",  "output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"hi","annotations":[]}]}],` +
		`"x_vendor":{"b":1},"usage":{"input_tokens":31,"input_tokens_details":{"cached_tokens":8},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":35}}`
	up.Script(fakeupstream.Step{Body: answer})
	load(t, responsesPassthroughConfig(up, ""))
	body := `{ "model" :  "codex-mini", "previous_response_id":"resp_earlier", "store": true,
	"input":[{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAAAB-opaque=="},
	         {"role":"user","content":[{"type":"input_text","text":"hé \u00e9 \"q\""}]}],
	"x_beta_field": {"z":[1, 2.50]}, "temperature": 1.50, "include":["reasoning.encrypted_content"] }`
	r := do(t, "/v1/responses", body, "Authorization", "Bearer sk-client", "OpenAI-Beta", "responses=v1")
	expectStatus(t, r, http.StatusOK)
	got := up.Last()
	want := strings.Replace(body, `"codex-mini"`, `"gpt-5-codex"`, 1)
	if string(got.Body) != want {
		t.Fatalf("upstream body\n got %q\nwant %q", got.Body, want)
	}
	if got.Path != "/v1/responses" || got.Header.Get("Authorization") != "Bearer sk-upstream-secret" || got.Header.Get("OpenAI-Beta") != "responses=v1" {
		t.Errorf("upstream %s, headers %v", got.Path, got.Header)
	}
	if string(r.Body) != answer {
		t.Fatalf("answer changed:\n got %s\nwant %s", r.Body, answer)
	}
	expectRoute(t, r, "gpt", "gpt-5-codex", 1)

	// A server that ignores `stream` and answers whole: the client that
	// asked for a stream gets the answer as its event stream.
	up.Script(fakeupstream.Step{Body: answer})
	r = do(t, "/v1/responses", `{"model":"codex-mini","stream":true,"input":"hi"}`)
	expectStatus(t, r, http.StatusOK)
	events := readResponsesEvents(t, string(r.Body))
	last := events[len(events)-1]
	if r.Header.Get("Content-Type") != "text/event-stream" || last.Name != "response.completed" || last.Data.Get("response").Raw != answer {
		t.Fatalf("%v, events %v", r.Header, eventNames(events))
	}

	// Bring your own key: a target without api_key gets the client's.
	up.Reset()
	load(t, router(fast+upTarget("byok", up)))
	r = do(t, "/responses", `{"model":"m","input":"hi"}`, "Authorization", "Bearer sk-client-own")
	expectStatus(t, r, http.StatusOK)
	if h := up.Last().Header.Get("Authorization"); h != "Bearer sk-client-own" {
		t.Errorf("upstream Authorization %q", h)
	}
	if r.json("output.0.content.0.text").Str == "" || r.json("usage.input_tokens").Int() != fakeupstream.FakePromptTokens {
		t.Errorf("answer %s", r.Body)
	}
}

// A stream passes byte for byte, comments and odd spacing included, and
// each event reaches the client before the upstream sends the next.
func TestResponsesAPIPassthroughStream(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	// The gate lets the pieces through up to the first delta, then holds.
	gate := make(chan struct{}, 3)
	gate <- struct{}{}
	gate <- struct{}{}
	gate <- struct{}{}
	events := []string{
		": keep-alive\n\n",
		"event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\",\"output\":[]}}\n\n",
		"event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,\"item\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"status\":\"in_progress\"}}\n\n",
		"event: response.output_text.delta\r\ndata:  {\"type\":\"response.output_text.delta\", \"sequence_number\":2,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hel\"}\r\n\r\n",
		"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":3,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"lo\",\"obfuscation\":\"ab\"}\n\n",
		"event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":4,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"usage\":{\"input_tokens\":3,\"output_tokens\":2,\"total_tokens\":5}}}\n\n",
	}
	up.Script(fakeupstream.Step{SSE: events, Gate: gate})
	load(t, responsesPassthroughConfig(up, ""))
	resp := open(t, context.Background(), http.MethodPost, "/v1/responses", `{"model":"codex-mini","stream":true,"input":"hi"}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	// The held opening events and the first output come together.
	var got strings.Builder
	readUntil(t, resp, &got, "\"delta\":\"Hel\"}\r\n\r\n")
	close(gate)
	readUntil(t, resp, &got, "")
	if got.String() != strings.Join(events, "") {
		t.Fatalf("stream changed:\n got %q\nwant %q", got.String(), strings.Join(events, ""))
	}
	if !strings.Contains(string(up.Last().Body), `"stream":true`) || strings.Contains(string(up.Last().Body), "stream_options") {
		t.Errorf("upstream body %s", up.Last().Body)
	}
}

// readUntil reads the stream into got until it ends with suffix (or, with
// an empty suffix, until EOF).
func readUntil(t *testing.T, resp *http.Response, got *strings.Builder, suffix string) {
	t.Helper()
	buf := make([]byte, 64<<10)
	for suffix == "" || !strings.HasSuffix(got.String(), suffix) {
		n, err := resp.Body.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			if suffix != "" {
				t.Fatalf("stream ended before %q: %v\n%s", suffix, err, got.String())
			}
			return
		}
	}
}

// The generated stream of the fake, with function calls, through an azure
// target's v1 Responses path.
func TestResponsesAPIPassthroughAzure(t *testing.T) {
	up := fakeupstream.NewAzure(t, "az")
	load(t, router(`
		target az {
			provider azure
			base_url `+up.URL+`
			api_key az-secret-key
			model_map gpt-5 my-gpt5-deployment
		}`))
	body := `{"model":"gpt-5","stream":true,"input":"weather?","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]}`
	r := do(t, "/v1/responses", body)
	expectStatus(t, r, http.StatusOK)
	got := up.Last()
	if got.Path != "/openai/v1/responses" || got.Query != "" || got.Header.Get("Api-Key") != "az-secret-key" || got.Header.Get("Authorization") != "" {
		t.Fatalf("upstream %s?%s, headers %v", got.Path, got.Query, got.Header)
	}
	if string(got.Body) != strings.Replace(body, `"gpt-5"`, `"my-gpt5-deployment"`, 1) {
		t.Fatalf("upstream body %s", got.Body)
	}
	events := readResponsesEvents(t, string(r.Body))
	last := events[len(events)-1]
	if last.Name != "response.completed" || last.Data.Get("response.usage.output_tokens").Int() != fakeupstream.FakeCompletionTokens {
		t.Fatalf("events %v, last %s", eventNames(events), last.Data.Raw)
	}
	var call gjson.Result
	for _, e := range events {
		if e.Name == "response.output_item.done" && e.Data.Get("item.type").Str == "function_call" {
			call = e.Data.Get("item")
		}
	}
	if call.Get("name").Str != "get_weather" || call.Get("arguments").Str != `{"city":"city-value"}` {
		t.Fatalf("function call %s", call.Raw)
	}
	expectRoute(t, r, "az", "my-gpt5-deployment", 1)
}

// Upstream errors come back as the upstream wrote them (OpenAI's JSON
// shape), or in that shape when they were not JSON; a 5xx falls back to
// the next candidate.
func TestResponsesAPIPassthroughErrors(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	backup := fakeupstream.NewOpenAI(t, "backup")
	load(t, responsesPassthroughConfig(up, upTarget("backup", backup, "models backup-*")+`
		model both {
			strategy fallback
			to gpt
			to backup backup-model
		}`))
	errBody := `{"error":{"message":"Previous response with id 'resp_x' not found.","type":"invalid_request_error","param":"previous_response_id","code":"previous_response_not_found"}}`
	up.Script(fakeupstream.Step{Status: http.StatusBadRequest, Body: errBody})
	r := do(t, "/v1/responses", `{"model":"codex-mini","previous_response_id":"resp_x","input":"go on"}`)
	if r.Status != http.StatusBadRequest || string(r.Body) != errBody {
		t.Fatalf("status %d body %s", r.Status, r.Body)
	}
	expectRoute(t, r, "gpt", "gpt-5-codex", 1)

	up.Script(fakeupstream.Step{Status: http.StatusBadGateway, Body: "<html>bad gateway</html>"})
	r = do(t, "/v1/responses", `{"model":"both","input":"hi","stream":true}`)
	expectStatus(t, r, http.StatusOK)
	expectRoute(t, r, "backup", "backup-model", 2)

	up.Script(fakeupstream.Step{Status: http.StatusTooManyRequests, RetryAfter: "7"})
	r = do(t, "/v1/responses", `{"model":"codex-mini","input":"hi"}`)
	expectError(t, r, http.StatusTooManyRequests, "rate_limit_exceeded")

	r = do(t, "/v1/responses", `{"input":"no model"}`)
	expectError(t, r, http.StatusBadRequest, "invalid_request")
	r = send(t, context.Background(), http.MethodGet, "/v1/responses", "")
	expectError(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
}

// A failure the upstream reports in its stream: before any output the
// attempt is retried elsewhere; after output the client gets the
// upstream's response.failed as it came, and nothing more.
func TestResponsesAPIPassthroughStreamFailure(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	backup := fakeupstream.NewOpenAI(t, "backup")
	load(t, responsesPassthroughConfig(up, upTarget("backup", backup, "models backup-*")+`
		model both {
			strategy fallback
			to gpt
			to backup backup-model
		}`))
	failed := "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_1\",\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"The model crashed.\"}}}\n\n"
	created := "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n"
	inProgress := "event: response.in_progress\ndata: {\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n"
	up.Script(fakeupstream.Step{SSE: []string{created, inProgress, failed}})
	r := do(t, "/v1/responses", `{"model":"both","input":"hi","stream":true}`)
	expectStatus(t, r, http.StatusOK)
	expectRoute(t, r, "backup", "backup-model", 2)
	if events := readResponsesEvents(t, string(r.Body)); events[len(events)-1].Name != "response.completed" {
		t.Fatalf("the retried stream did not complete: %v", eventNames(events))
	}

	// After output: passed on as it came.
	up.Script(fakeupstream.Step{ErrorAfter: 2})
	r = do(t, "/v1/responses", `{"model":"both","input":"hi","stream":true}`)
	events := readResponsesEvents(t, string(r.Body))
	last := events[len(events)-1]
	if last.Name != "response.failed" || last.Data.Get("response.error.message").Str != "fake in-stream failure" {
		t.Fatalf("events %v, last %s", eventNames(events), last.Data.Raw)
	}
	for i, e := range events {
		if e.Data.Get("sequence_number").Int() != int64(i) {
			t.Fatalf("event %d has sequence_number %d", i, e.Data.Get("sequence_number").Int())
		}
	}
	expectRoute(t, r, "gpt", "both", 1)

	// Cut off after output: the router ends the stream with its own
	// response.failed, next in the sequence.
	up.Script(fakeupstream.Step{DropAfter: 2})
	r = do(t, "/v1/responses", `{"model":"codex-mini","input":"hi","stream":true}`)
	events = readResponsesEvents(t, string(r.Body))
	last = events[len(events)-1]
	if last.Name != "response.failed" || last.Data.Get("sequence_number").Int() != int64(len(events)-1) ||
		last.Data.Get("response.id").Str != "resp_fake" || last.Data.Get("response.error.code").Str != "upstream_error" {
		t.Fatalf("events %v, last %s", eventNames(events), last.Data.Raw)
	}
	if !strings.Contains(last.Data.Get("response.error.message").Str, `target "gpt"`) {
		t.Errorf("message %q does not name the target", last.Data.Get("response.error.message").Str)
	}
}
