package fakeupstream

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tidwall/gjson"
)

// serveResponses answers POST /v1/responses in the shapes of OpenAI's
// Responses API reference: a `response` object, or with `"stream": true`
// the named events response.created, response.in_progress, the message
// item (output_item.added, content_part.added, Step.Chunks
// output_text.delta events of StreamPiece, output_text.done,
// content_part.done, output_item.done), each function call item
// (output_item.added, two function_call_arguments.delta, .done,
// output_item.done) and response.completed with usage, every event with
// its sequence_number. When the request declares function tools and its
// last input item is not a function_call_output, the answer calls each of
// them with arguments made from its schema (see FakeToolInput). It
// refuses a request without `model` or whose `input` is neither a string
// nor an array, as the API does. A Step's ErrorAfter sends a
// response.failed event after that many deltas.
func serveResponses(w http.ResponseWriter, r *http.Request, req *Request, step Step, text string) {
	fail := func(msg, param string) {
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "param": param, "code": nil}})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(b)
	}
	if !gjson.ValidBytes(req.Body) {
		fail("We could not parse the JSON body of your request.", "")
		return
	}
	body := gjson.ParseBytes(req.Body)
	model := body.Get("model").Str
	if model == "" {
		fail("Missing required parameter: 'model'.", "model")
		return
	}
	if in := body.Get("input"); in.Exists() && in.Type != gjson.String && !in.IsArray() {
		fail("Invalid type for 'input': expected a string or an array.", "input")
		return
	}
	a := responsesAnswer{model: model, text: text, calls: responsesCalls(body), body: body, created: time.Now().Unix()}
	if body.Get("stream").Bool() {
		a.stream(w, r, step)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "req_fake")
	_, _ = w.Write(a.response("completed", a.output(true), true))
}

// responsesCall is a function call the fake makes.
type responsesCall struct{ callID, name, arguments string }

// responsesCalls decides which functions the fake calls (see
// serveResponses).
func responsesCalls(body gjson.Result) []responsesCall {
	if body.Get("tool_choice").Str == "none" {
		return nil
	}
	items := body.Get("input").Array()
	if n := len(items); n > 0 && items[n-1].Get("type").Str == "function_call_output" {
		return nil
	}
	var calls []responsesCall
	for _, t := range body.Get("tools").Array() {
		if t.Get("type").Str != "function" {
			continue
		}
		calls = append(calls, responsesCall{
			callID:    fmt.Sprintf("call_fake_%d", len(calls)),
			name:      t.Get("name").Str,
			arguments: FakeToolInput(t.Get("parameters").Raw),
		})
	}
	return calls
}

// FakeResponsesUsage is the usage object of the fake's answers.
func FakeResponsesUsage() map[string]any {
	return map[string]any{
		"input_tokens": FakePromptTokens, "input_tokens_details": map[string]any{"cached_tokens": 0},
		"output_tokens": FakeCompletionTokens, "output_tokens_details": map[string]any{"reasoning_tokens": 0},
		"total_tokens": FakePromptTokens + FakeCompletionTokens,
	}
}

// responsesAnswer is one answer of the fake.
type responsesAnswer struct {
	model, text string
	calls       []responsesCall
	body        gjson.Result
	created     int64
	seq         int
}

func (a *responsesAnswer) messageItem(text, status string) map[string]any {
	content := []any{}
	if status == "completed" {
		content = append(content, map[string]any{"type": "output_text", "text": text, "annotations": []any{}, "logprobs": []any{}})
	}
	return map[string]any{"id": "msg_fake", "type": "message", "status": status, "role": "assistant", "content": content}
}

func (a *responsesAnswer) callItem(i int, status string) map[string]any {
	c := a.calls[i]
	args := c.arguments
	if status != "completed" {
		args = ""
	}
	return map[string]any{"id": fmt.Sprintf("fc_fake_%d", i), "type": "function_call", "status": status, "call_id": c.callID, "name": c.name, "arguments": args}
}

// output is the answer's output items, final or none.
func (a *responsesAnswer) output(final bool) []any {
	out := []any{}
	if !final {
		return out
	}
	out = append(out, a.messageItem(a.text, "completed"))
	for i := range a.calls {
		out = append(out, a.callItem(i, "completed"))
	}
	return out
}

// response is the `response` object with status.
func (a *responsesAnswer) response(status string, output []any, usage bool) []byte {
	echo := func(key string, def any) any {
		if v := a.body.Get(key); v.Exists() {
			return json.RawMessage(v.Raw)
		}
		return def
	}
	resp := map[string]any{
		"id": "resp_fake", "object": "response", "created_at": a.created, "status": status,
		"error": nil, "incomplete_details": nil, "instructions": echo("instructions", nil),
		"max_output_tokens": echo("max_output_tokens", nil), "model": a.model, "output": output,
		"parallel_tool_calls": echo("parallel_tool_calls", true), "previous_response_id": echo("previous_response_id", nil),
		"reasoning": map[string]any{"effort": nil, "summary": nil}, "store": echo("store", true),
		"temperature": echo("temperature", 1), "text": map[string]any{"format": map[string]any{"type": "text"}},
		"tool_choice": echo("tool_choice", "auto"), "tools": echo("tools", []any{}), "top_p": echo("top_p", 1),
		"truncation": "disabled", "usage": nil, "user": echo("user", nil), "metadata": echo("metadata", map[string]any{}),
	}
	if usage {
		resp["usage"] = FakeResponsesUsage()
	}
	b, _ := json.Marshal(resp)
	return b
}

// event writes one named event with its sequence number.
func (a *responsesAnswer) event(w http.ResponseWriter, typ string, fields map[string]any) {
	fields["type"] = typ
	fields["sequence_number"] = a.seq
	a.seq++
	b, _ := json.Marshal(fields)
	writeSSE(w, typ, b)
}

func (a *responsesAnswer) stream(w http.ResponseWriter, r *http.Request, step Step) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Request-Id", "req_fake")
	w.WriteHeader(http.StatusOK)
	flush(w)
	switch {
	case step.DropAtStart:
		drop(w)
		return
	case step.HangAtStart:
		<-r.Context().Done()
		return
	}
	type obj = map[string]any
	a.event(w, "response.created", obj{"response": json.RawMessage(a.response("in_progress", a.output(false), false))})
	a.event(w, "response.in_progress", obj{"response": json.RawMessage(a.response("in_progress", a.output(false), false))})
	a.event(w, "response.output_item.added", obj{"output_index": 0, "item": a.messageItem("", "in_progress")})
	part := obj{"type": "output_text", "text": "", "annotations": []any{}, "logprobs": []any{}}
	a.event(w, "response.content_part.added", obj{"item_id": "msg_fake", "output_index": 0, "content_index": 0, "part": part})
	n := step.Chunks
	if n == 0 {
		n = 3
	}
	text := ""
	if !step.contentEvents(w, r, n, func(i int) {
		text += StreamPiece(i)
		a.event(w, "response.output_text.delta", obj{"item_id": "msg_fake", "output_index": 0, "content_index": 0, "delta": StreamPiece(i), "logprobs": []any{}})
	}, func() {
		failed := a.response("failed", a.output(false), false)
		var m map[string]any
		_ = json.Unmarshal(failed, &m)
		m["error"] = obj{"code": "server_error", "message": "fake in-stream failure"}
		a.event(w, "response.failed", obj{"response": m})
	}) {
		return
	}
	a.text = text
	a.event(w, "response.output_text.done", obj{"item_id": "msg_fake", "output_index": 0, "content_index": 0, "text": text, "logprobs": []any{}})
	part["text"] = text
	a.event(w, "response.content_part.done", obj{"item_id": "msg_fake", "output_index": 0, "content_index": 0, "part": part})
	a.event(w, "response.output_item.done", obj{"output_index": 0, "item": a.messageItem(text, "completed")})
	for i, c := range a.calls {
		id := fmt.Sprintf("fc_fake_%d", i)
		a.event(w, "response.output_item.added", obj{"output_index": i + 1, "item": a.callItem(i, "in_progress")})
		half := len(c.arguments) / 2
		for _, piece := range []string{c.arguments[:half], c.arguments[half:]} {
			a.event(w, "response.function_call_arguments.delta", obj{"item_id": id, "output_index": i + 1, "delta": piece})
		}
		a.event(w, "response.function_call_arguments.done", obj{"item_id": id, "output_index": i + 1, "arguments": c.arguments})
		a.event(w, "response.output_item.done", obj{"output_index": i + 1, "item": a.callItem(i, "completed")})
	}
	a.event(w, "response.completed", obj{"response": json.RawMessage(a.response("completed", a.output(true), true))})
}
