package fakeupstream

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// NewAnthropic starts a fake Anthropic Messages API. Its base URL (for a
// target's base_url) is URL; it serves POST /v1/messages/count_tokens
// (`{"input_tokens": FakeCountTokens}`) and POST /v1/messages in the shapes of
// Anthropic's API reference: a message as JSON, or with `"stream": true`
// the named SSE events (message_start, content_block_start/delta/stop,
// ping, message_delta, message_stop). It requires `x-api-key`,
// `anthropic-version` and `max_tokens`, and answers failures in
// Anthropic's error shape (529 overloaded_error for Status 529). A Step's
// ErrorAfter sends an in-stream `event: error` (overloaded_error); its Body
// (status 0) is the raw answer, its SSE the raw event stream.
//
// When the request has tools (and tool_choice is not "none") and does not
// end with tool results, the answer calls them: the named tool of a
// {"type":"tool"} choice, else every tool (only the first with
// disable_parallel_tool_use), each with an input made from its schema (see
// FakeToolInput), stop_reason tool_use.
func NewAnthropic(tb testing.TB, name string) *Server {
	return start(tb, name, serveAnthropic)
}

func serveAnthropic(w http.ResponseWriter, r *http.Request, req *Request, step Step) {
	fail := func(status int, msg string) {
		writeAnthropicError(w, status, AnthropicError(status, msg))
	}
	count := r.URL.Path == "/v1/messages/count_tokens"
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" && !count {
		fail(http.StatusNotFound, "Not found: "+r.Method+" "+r.URL.Path)
		return
	}
	if step.Status != 0 {
		body := step.Body
		if body == "" {
			body = AnthropicError(step.Status, "fake failure from "+nameOf(r))
		}
		writeAnthropicError(w, step.Status, body)
		return
	}
	switch {
	case r.Header.Get("x-api-key") == "":
		fail(http.StatusUnauthorized, "x-api-key header is required")
		return
	case r.Header.Get("anthropic-version") == "":
		fail(http.StatusBadRequest, "anthropic-version: header is required")
		return
	case !gjson.ValidBytes(req.Body):
		fail(http.StatusBadRequest, "The request body is not valid JSON.")
		return
	}
	body := gjson.ParseBytes(req.Body)
	if count {
		if !body.Get("messages").IsArray() {
			fail(http.StatusBadRequest, "messages: Field required")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"input_tokens":%d}`, FakeCountTokens)
		return
	}
	if body.Get("max_tokens").Type != gjson.Number {
		fail(http.StatusBadRequest, "max_tokens: Field required")
		return
	}
	msgs := body.Get("messages").Array()
	if len(msgs) == 0 {
		fail(http.StatusBadRequest, "messages: at least one message is required")
		return
	}
	for i, m := range msgs {
		// Current clients (Claude Code 2.1) send system turns inside the
		// conversation too.
		if role := m.Get("role").Str; role != "user" && role != "assistant" && role != "system" {
			fail(http.StatusBadRequest, fmt.Sprintf("messages.%d.role: Input should be 'user', 'assistant' or 'system'", i))
			return
		}
	}
	if step.Body != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(step.Body))
		return
	}
	if step.SSE != nil {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		for i, piece := range step.SSE {
			if i > 0 && (!wait(r, step.ChunkDelay) || !gate(r, step.Gate)) {
				return
			}
			_, _ = w.Write([]byte(piece))
			flush(w)
		}
		return
	}
	text := step.Text
	if text == "" {
		text = "Hello from " + nameOf(r)
	}
	calls := anthropicToolCalls(body, msgs)
	w.Header().Set("Request-Id", "req_fake")
	if body.Get("stream").Bool() {
		streamAnthropic(w, r, step, body.Get("model").Str, calls)
		return
	}
	content := []map[string]any{{"type": "text", "text": text}}
	stop := "end_turn"
	for _, c := range calls {
		content = append(content, map[string]any{"type": "tool_use", "id": c.id, "name": c.name, "input": json.RawMessage(c.input)})
		stop = "tool_use"
	}
	msg, _ := json.Marshal(map[string]any{
		"id": "msg_fake", "type": "message", "role": "assistant",
		"model": body.Get("model").Str, "content": content,
		"stop_reason": stop, "stop_sequence": nil,
		"usage": anthropicUsage(FakeCompletionTokens),
	})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(msg)
}

// FakeCountTokens is the fake's answer to count_tokens.
const FakeCountTokens = 1234

// AnthropicError is an Anthropic error body, its type chosen by status.
func AnthropicError(status int, msg string) string {
	b, _ := json.Marshal(map[string]any{
		"type":       "error",
		"error":      map[string]any{"type": anthropicErrorType(status), "message": msg},
		"request_id": "req_fake",
	})
	return string(b)
}

func anthropicErrorType(status int) string {
	switch status {
	case 401:
		return "authentication_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 504:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

func writeAnthropicError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func anthropicUsage(output int) map[string]any {
	return map[string]any{
		"input_tokens": FakePromptTokens, "output_tokens": output,
		"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
	}
}

// anthropicCall is a tool call the fake makes.
type anthropicCall struct{ id, name, input string }

// anthropicToolCalls decides which tools the fake calls (see NewAnthropic).
func anthropicToolCalls(body gjson.Result, msgs []gjson.Result) []anthropicCall {
	tools := body.Get("tools").Array()
	choice := body.Get("tool_choice")
	if len(tools) == 0 || choice.Get("type").Str == "none" {
		return nil
	}
	last := msgs[len(msgs)-1]
	if last.Get("role").Str == "user" && strings.Contains(last.Get("content.#.type").Raw, `"tool_result"`) {
		return nil
	}
	var calls []anthropicCall
	for _, t := range tools {
		name := t.Get("name").Str
		if choice.Get("type").Str == "tool" && choice.Get("name").Str != name {
			continue
		}
		calls = append(calls, anthropicCall{
			id:    fmt.Sprintf("toolu_fake_%d", len(calls)),
			name:  name,
			input: FakeToolInput(t.Get("input_schema").Raw),
		})
		if choice.Get("disable_parallel_tool_use").Bool() {
			break
		}
	}
	return calls
}

// FakeToolInput is the input the fake Anthropic gives a tool with schema:
// each property in order, a string "<name>-value", a number 1, a boolean
// true, an object {}, an array [], anything else null; compact JSON.
func FakeToolInput(schema string) string {
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	gjson.Get(schema, "properties").ForEach(func(key, prop gjson.Result) bool {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		k, _ := json.Marshal(key.Str)
		b.Write(k)
		b.WriteByte(':')
		switch prop.Get("type").Str {
		case "string":
			v, _ := json.Marshal(key.Str + "-value")
			b.Write(v)
		case "number", "integer":
			b.WriteString("1")
		case "boolean":
			b.WriteString("true")
		case "object":
			b.WriteString("{}")
		case "array":
			b.WriteString("[]")
		default:
			b.WriteString("null")
		}
		return true
	})
	b.WriteByte('}')
	return b.String()
}

// streamAnthropic streams a text block of Step.Chunks deltas
// (StreamPiece), then each tool call as a tool_use block whose input comes
// in two input_json_delta pieces.
func streamAnthropic(w http.ResponseWriter, r *http.Request, step Step, model string, calls []anthropicCall) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush(w)
	event := func(name string, v any) {
		b, _ := json.Marshal(v)
		writeSSE(w, name, b)
	}
	type obj = map[string]any
	event("message_start", obj{"type": "message_start", "message": obj{
		"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": anthropicUsage(1),
	}})
	event("content_block_start", obj{"type": "content_block_start", "index": 0, "content_block": obj{"type": "text", "text": ""}})
	event("ping", obj{"type": "ping"})
	n := step.Chunks
	if n == 0 {
		n = 3
	}
	if !step.contentEvents(w, r, n, func(i int) {
		event("content_block_delta", obj{"type": "content_block_delta", "index": 0, "delta": obj{"type": "text_delta", "text": StreamPiece(i)}})
	}, func() {
		event("error", obj{"type": "error", "error": obj{"type": "overloaded_error", "message": "Overloaded"}})
	}) {
		return
	}
	event("content_block_stop", obj{"type": "content_block_stop", "index": 0})
	stop := "end_turn"
	for k, c := range calls {
		idx := k + 1
		event("content_block_start", obj{"type": "content_block_start", "index": idx, "content_block": obj{"type": "tool_use", "id": c.id, "name": c.name, "input": obj{}}})
		half := len(c.input) / 2
		for _, piece := range []string{"", c.input[:half], c.input[half:]} {
			event("content_block_delta", obj{"type": "content_block_delta", "index": idx, "delta": obj{"type": "input_json_delta", "partial_json": piece}})
		}
		event("content_block_stop", obj{"type": "content_block_stop", "index": idx})
		stop = "tool_use"
	}
	event("message_delta", obj{"type": "message_delta", "delta": obj{"stop_reason": stop, "stop_sequence": nil}, "usage": obj{"output_tokens": FakeCompletionTokens}})
	event("message_stop", obj{"type": "message_stop"})
}
