package integration

// The Anthropic Messages inbound API against a real Caddy: byte-for-byte
// passthrough to anthropic targets, token counting, and errors in
// Anthropic's shape (SPEC 10).

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	anthropicapi "github.com/llmrouter/caddy-llm-router/apis/anthropic"
	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

const apiAnthropicKey = "sk-ant-router-secret"

// apiAnthropicConfig routes claude-* to an anthropic target with the
// router's key, versioned-* to one with an api_version, and gpt-* to an
// OpenAI-compatible target.
func apiAnthropicConfig(ant, oai *fakeupstream.Server, extra string) string {
	return router(`
		retries 1
		retry_backoff 1ms 10ms
		target claude {
			provider anthropic
			base_url ` + ant.URL + `
			api_key ` + apiAnthropicKey + `
			models claude-*
			model_map claude-alias claude-upstream-1
		}
		target versioned {
			provider anthropic
			base_url ` + ant.URL + `
			api_key ` + apiAnthropicKey + `
			api_version 2024-10-22
			models versioned-*
		}
		target gpt {
			base_url ` + oai.BaseURL() + `
			api_key sk-openai-secret
			models gpt-*
		}
		` + extra)
}

// anthropicEvent is one event of an Anthropic stream as the client read it.
type anthropicEvent struct {
	Name string
	Data gjson.Result
}

// readAnthropicSSE reads every event of a stream until it ends.
func readAnthropicSSE(t *testing.T, resp *http.Response) []anthropicEvent {
	t.Helper()
	var out []anthropicEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	name := ""
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			out = append(out, anthropicEvent{name, gjson.Parse(strings.TrimPrefix(line, "data: "))})
			name = ""
		}
	}
	return out
}

// The client's body reaches the anthropic target byte for byte but for the
// model — odd spacing, unknown fields, thinking signatures, cache_control —
// with the client's anthropic-beta and the right anthropic-version, and the
// answer comes back byte for byte.
func TestAnthropicAPIPassthrough(t *testing.T) {
	ant, oai := fakeupstream.NewAnthropic(t, "ant"), fakeupstream.NewOpenAI(t, "oai")
	load(t, apiAnthropicConfig(ant, oai, ""))
	answer := `{"id":"msg_up","type":"message","role":"assistant","model":"claude-upstream-1",  "content":[{"type":"text","text":"ok"}],` +
		`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1},"future_field":{"x":1}}`
	ant.Script(fakeupstream.Step{Body: answer}, fakeupstream.Step{Body: answer}, fakeupstream.Step{Body: answer})
	body := "{ \"model\" :\"claude-alias\",\n\t\"max_tokens\": 1e3, \"unknown_beta_field\": {\"keep\": [1, 2.50]},\n" +
		`"system":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral","ttl":"1h"}}],` +
		`"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"EqQBCgIYAhIM1gbc/+=="},` +
		`{"type":"redacted_thinking","data":"EmwK"},{"type":"tool_use","id":"toolu_1","name":"t","input":{}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"r","cache_control":{"type":"ephemeral"}}]}]   }`

	r := do(t, "/v1/messages?beta=true", body, "x-api-key", "sk-client-key", "anthropic-beta", "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14")
	expectStatus(t, r, 200)
	if string(r.Body) != answer {
		t.Fatalf("answer changed:\n%s", r.Body)
	}
	expectRoute(t, r, "claude", "claude-upstream-1", 1)
	got := ant.Last()
	if want := strings.Replace(body, `"claude-alias"`, `"claude-upstream-1"`, 1); string(got.Body) != want {
		t.Fatalf("upstream body\n%s\nwant\n%s", got.Body, want)
	}
	if got.Path != "/v1/messages" || got.Header.Get("x-api-key") != apiAnthropicKey || got.Header.Get("Authorization") != "" ||
		got.Header.Get("anthropic-version") != "2023-06-01" ||
		got.Header.Get("anthropic-beta") != "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14" {
		t.Fatalf("upstream %s headers %v", got.Path, got.Header)
	}

	// The client's anthropic-version wins; without one the target's
	// api_version is sent.
	do(t, "/v1/messages", `{"model":"claude-x","max_tokens":5,"messages":[]}`, "anthropic-version", "2023-01-01")
	if v := ant.Last().Header.Get("anthropic-version"); v != "2023-01-01" {
		t.Errorf("client version: upstream got %q", v)
	}
	do(t, "/messages", `{"model":"versioned-x","max_tokens":5,"messages":[]}`, "authorization", "Bearer tok")
	if v := ant.Last().Header.Get("anthropic-version"); v != "2024-10-22" {
		t.Errorf("target version: upstream got %q", v)
	}
}

// A stream passes byte for byte, pings, signatures and all.
func TestAnthropicAPIPassthroughStream(t *testing.T) {
	ant, oai := fakeupstream.NewAnthropic(t, "ant"), fakeupstream.NewOpenAI(t, "oai")
	load(t, apiAnthropicConfig(ant, oai, ""))
	events := []string{
		"event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\r\n\r\n",
		"event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n",
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}\n\n",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQB==\"}}\n\n",
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}\n\n",
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	}
	ant.Script(fakeupstream.Step{SSE: events})
	r := do(t, "/v1/messages", `{"model":"claude-x","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	expectStatus(t, r, 200)
	if string(r.Body) != strings.Join(events, "") {
		t.Fatalf("stream changed:\n%q", r.Body)
	}
	expectHeader(t, r.Header, "Content-Type", "text/event-stream")
	if !gjson.GetBytes(ant.Last().Body, "stream").Bool() || ant.Last().Header.Get("Accept") != "text/event-stream" {
		t.Fatal("upstream was not asked for a stream")
	}
}

// count_tokens passes through to an anthropic target and is estimated for
// any other.
func TestAnthropicAPICountTokens(t *testing.T) {
	ant, oai := fakeupstream.NewAnthropic(t, "ant"), fakeupstream.NewOpenAI(t, "oai")
	load(t, apiAnthropicConfig(ant, oai, ""))
	body := `{"model":"claude-x","system":"You are terse.","messages":[{"role":"user","content":"Hello there, how are you?"}],"tools":[{"name":"t","input_schema":{"type":"object"}}]}`
	r := do(t, "/v1/messages/count_tokens?beta=true", body, "anthropic-beta", "token-counting-2024-11-01")
	expectStatus(t, r, 200)
	if n := r.json("input_tokens").Int(); n != fakeupstream.FakeCountTokens {
		t.Fatalf("input_tokens %d: %s", n, r.Body)
	}
	if got := ant.Last(); got.Path != "/v1/messages/count_tokens" || string(got.Body) != body || got.Header.Get("anthropic-beta") != "token-counting-2024-11-01" {
		t.Fatalf("upstream %s %s", got.Path, got.Body)
	}
	gptBody := strings.Replace(body, "claude-x", "gpt-4o", 1)
	r = do(t, "/v1/messages/count_tokens", gptBody)
	expectStatus(t, r, 200)
	if n := r.json("input_tokens").Int(); n != anthropicapi.EstimateTokens([]byte(gptBody)) || n == 0 {
		t.Fatalf("estimate %d: %s", n, r.Body)
	}
	expectCounts(t, map[*fakeupstream.Server]int{oai: 0, ant: 1})
}

// expectAnthropicError checks an error answer in Anthropic's shape.
func expectAnthropicError(t *testing.T, r result, status int, typ string) {
	t.Helper()
	expectStatus(t, r, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if r.json("type").Str != "error" || r.json("error.type").Str != typ || r.json("error.message").Str == "" {
		t.Fatalf("not an Anthropic %s error: %s", typ, r.Body)
	}
	if r.json("error.code").Exists() || r.json("error.param").Exists() {
		t.Fatalf("OpenAI fields in an Anthropic error: %s", r.Body)
	}
}

// The router's own errors and upstream errors reach an Anthropic client in
// Anthropic's shape; an Anthropic upstream's error body passes unchanged.
func TestAnthropicAPIErrors(t *testing.T) {
	ant, oai := fakeupstream.NewAnthropic(t, "ant"), fakeupstream.NewOpenAI(t, "oai")
	load(t, apiAnthropicConfig(ant, oai, "max_request_body 2KiB"))
	msgs := `"messages":[{"role":"user","content":"hi"}]`

	expectAnthropicError(t, do(t, "/v1/messages", `{"model":"claude-x",`+msgs+`}`), 400, "invalid_request_error")
	expectAnthropicError(t, do(t, "/v1/messages", `not json`), 400, "invalid_request_error")
	expectAnthropicError(t, do(t, "/v1/messages", `{"model":"nobody-serves-this","max_tokens":5,`+msgs+`}`), 404, "not_found_error")
	expectAnthropicError(t, send(t, context.Background(), http.MethodGet, "/v1/messages", ""), 405, "invalid_request_error")
	expectAnthropicError(t, do(t, "/v1/messages", `{"model":"claude-x","max_tokens":5,"pad":"`+strings.Repeat("x", 4096)+`",`+msgs+`}`), 413, "request_too_large")
	expectAnthropicError(t, do(t, "/v1/messages", `{"model":"claude-x","max_tokens":5,`+msgs+`}`, "X-LLM-Target", "nope"), 400, "invalid_request_error")
	// A server tool cannot be translated for an OpenAI target.
	r := do(t, "/v1/messages", `{"model":"gpt-4o","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],`+msgs+`}`)
	expectAnthropicError(t, r, 400, "invalid_request_error")
	if !strings.Contains(r.json("error.message").Str, "tools") {
		t.Errorf("message does not name the parameter: %s", r.Body)
	}
	expectCounts(t, map[*fakeupstream.Server]int{ant: 0, oai: 0})

	// An Anthropic upstream's own 4xx body passes unchanged, with Retry-After.
	up := `{"type":"error","error":{"type":"invalid_request_error","message":"messages.0: custom upstream complaint"},"request_id":"req_x"}`
	ant.Script(fakeupstream.Step{Status: 400, Body: up})
	r = do(t, "/v1/messages", `{"model":"claude-x","max_tokens":5,`+msgs+`}`)
	expectStatus(t, r, 400)
	if string(r.Body) != up {
		t.Fatalf("upstream error changed: %s", r.Body)
	}
	ant.Script(fakeupstream.Step{Status: 429, RetryAfter: "7"})
	r = do(t, "/v1/messages", `{"model":"claude-x","max_tokens":5,`+msgs+`}`)
	expectAnthropicError(t, r, 429, "rate_limit_error")
	expectHeader(t, r.Header, "Retry-After", "7")
	if strings.Contains(string(r.Body), apiAnthropicKey) {
		t.Fatal("key in the answer")
	}

	// A translated target's failure: Anthropic's shape, never a key.
	oai.Script(fakeupstream.Step{Status: 500}, fakeupstream.Step{Status: 500})
	r = do(t, "/v1/messages", `{"model":"gpt-4o","max_tokens":5,`+msgs+`}`)
	expectAnthropicError(t, r, 502, "api_error")
	oai.Script(fakeupstream.Step{Status: 401})
	r = do(t, "/v1/messages", `{"model":"gpt-4o","max_tokens":5,`+msgs+`}`)
	expectAnthropicError(t, r, 401, "authentication_error")
	if strings.Contains(string(r.Body), "sk-openai-secret") {
		t.Fatal("key in the answer")
	}
}

// Errors inside a stream: an anthropic target's `event: error` reaches the
// client as it was sent, once; a translated stream's failure becomes an
// Anthropic error event; an error before any content is retried.
func TestAnthropicAPIStreamErrors(t *testing.T) {
	ant, oai := fakeupstream.NewAnthropic(t, "ant"), fakeupstream.NewOpenAI(t, "oai")
	load(t, apiAnthropicConfig(ant, oai, ""))
	stream := func(model string) []anthropicEvent {
		resp := open(t, context.Background(), http.MethodPost, "/v1/messages",
			`{"model":"`+model+`","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return readAnthropicSSE(t, resp)
	}
	lastIsOneError := func(evs []anthropicEvent, typ string) {
		t.Helper()
		n := 0
		for _, ev := range evs {
			if ev.Name == "error" {
				n++
			}
		}
		last := evs[len(evs)-1]
		if n != 1 || last.Name != "error" || last.Data.Get("type").Str != "error" || last.Data.Get("error.type").Str != typ {
			t.Fatalf("%d error events, last %s %s", n, last.Name, last.Data.Raw)
		}
	}

	ant.Script(fakeupstream.Step{ErrorAfter: 2})
	evs := stream("claude-x")
	lastIsOneError(evs, "overloaded_error")
	if evs[0].Name != "message_start" || evs[len(evs)-2].Data.Get("delta.text").Str != fakeupstream.StreamPiece(1) {
		t.Fatalf("events %v", evs)
	}

	oai.Script(fakeupstream.Step{ErrorAfter: 2})
	evs = stream("gpt-4o")
	lastIsOneError(evs, "api_error")
	if evs[0].Name != "message_start" || evs[len(evs)-2].Data.Get("delta.text").Str != fakeupstream.StreamPiece(1) {
		t.Fatalf("events %v", evs)
	}

	// message_start, then an error: nothing reached the client yet, so the
	// router tries again.
	ant.Reset()
	ant.Script(fakeupstream.Step{SSE: []string{
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
	}})
	evs = stream("claude-x")
	if ant.Count() != 2 || evs[len(evs)-1].Name != "message_stop" {
		t.Fatalf("%d upstream requests, events %v", ant.Count(), evs)
	}
	for _, ev := range evs {
		if ev.Name == "error" {
			t.Fatalf("the retried error reached the client: %v", evs)
		}
	}
}

// With router keys, an Anthropic client's key is its x-api-key (or Bearer
// token); a missing or wrong one gets Anthropic's 401, and the router's key
// never goes upstream.
func TestAnthropicAPIRouterKeys(t *testing.T) {
	ant, oai := fakeupstream.NewAnthropic(t, "ant"), fakeupstream.NewOpenAI(t, "oai")
	const routerKey = "sk-llmr-anthropic-client-0123456789"
	load(t, apiAnthropicConfig(ant, oai, `
		key `+routerKey+` {
			name claude-code
		}`))
	body := `{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	expectStatus(t, do(t, "/v1/messages", body, "x-api-key", routerKey), 200)
	expectStatus(t, do(t, "/v1/messages", body, "Authorization", "Bearer "+routerKey), 200)
	if got := ant.Last().Header.Get("x-api-key"); got != apiAnthropicKey {
		t.Fatalf("upstream x-api-key %q", got)
	}
	expectAnthropicError(t, do(t, "/v1/messages", body, "x-api-key", "sk-wrong"), 401, "authentication_error")
	expectAnthropicError(t, do(t, "/v1/messages", body), 401, "authentication_error")
	expectCounts(t, map[*fakeupstream.Server]int{ant: 2})
}
