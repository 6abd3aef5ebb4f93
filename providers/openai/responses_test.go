package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

// Events of a Responses stream, as OpenAI sends them.
const (
	rCreated    = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"created_at\":1700000000,\"status\":\"in_progress\",\"model\":\"gpt-5\",\"output\":[]}}\n\n"
	rInProgress = "event: response.in_progress\ndata: {\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n"
	rAdded      = "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":0,\"item\":{\"id\":\"msg_1\",\"type\":\"message\",\"status\":\"in_progress\",\"content\":[],\"role\":\"assistant\"}}\n\n"
	rDelta      = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":3,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n"
	rCompleted  = "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":4,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"usage\":{\"input_tokens\":30,\"input_tokens_details\":{\"cached_tokens\":12},\"output_tokens\":9,\"output_tokens_details\":{\"reasoning_tokens\":4},\"total_tokens\":39}}}\n\n"
	rFailed     = "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":4,\"response\":{\"id\":\"resp_1\",\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"The model crashed.\"}}}\n\n"
	rError      = "event: error\ndata: {\"type\":\"error\",\"sequence_number\":2,\"code\":\"rate_limit_exceeded\",\"message\":\"Slow down.\",\"param\":null}\n\n"
)

func relayResponses(t testing.TB, body io.Reader) (*httptest.ResponseRecorder, *stream.Writer, llm.Usage, error) {
	t.Helper()
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}, "X-Request-Id": {"req-1"}}, Body: io.NopCloser(body)}
	c := &llm.Call{Op: llm.OpResponses, Stream: true, Body: []byte(`{"model":"m","input":"four byte tokens","stream":true}`), Upstream: &llm.Upstream{Name: "gpt"}}
	u, err := RelayResponses(w, resp, c)
	return rec, w, u, err
}

// The stream passes byte for byte, comments included; usage (cached and
// reasoning tokens too) comes from response.completed.
func TestRelayResponsesStream(t *testing.T) {
	in := ": keep-alive\n\n" + rCreated + rInProgress + rAdded + "event: response.output_text.delta\r\ndata:  {\"type\":\"response.output_text.delta\",\"sequence_number\":3,\"delta\":\"Hi\"}\r\n\r\n" + rCompleted
	rec, _, u, err := relayResponses(t, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Body.String() != in {
		t.Fatalf("stream changed:\n got %q\nwant %q", rec.Body.String(), in)
	}
	want := llm.Usage{PromptTokens: 30, CompletionTokens: 9, CacheReadTokens: 12, ReasoningTokens: 4, FinishReason: "stop"}
	if u != want {
		t.Fatalf("usage %+v, want %+v", u, want)
	}
	if rec.Header().Get("X-Request-Id") != "req-1" {
		t.Errorf("headers %v", rec.Header())
	}
}

// A failure before any output leaves the response uncommitted, so the
// attempt can be retried; the opening events were only held.
func TestRelayResponsesFailureBeforeOutput(t *testing.T) {
	for _, in := range []string{rCreated + rInProgress + rFailed, rCreated + rError} {
		rec, w, _, err := relayResponses(t, strings.NewReader(in))
		var e *llm.Error
		if !errors.As(err, &e) || e.Kind != llm.KindStream || e.Relayed || w.Committed() || rec.Body.Len() != 0 {
			t.Fatalf("%q: err %#v, committed %v, body %q", in, err, w.Committed(), rec.Body.String())
		}
		if e.Message != "The model crashed." && e.Message != "Slow down." {
			t.Fatalf("message %q", e.Message)
		}
	}
	_, w, _, err := relayResponses(t, strings.NewReader(rCreated+rInProgress))
	if !errors.Is(err, ErrStreamCut) || w.Committed() {
		t.Fatalf("cut before output: %v, committed %v", err, w.Committed())
	}
}

// After output, the upstream's own failure reaches the client as it came
// and is returned as relayed, so the router writes nothing more.
func TestRelayResponsesFailureAfterOutput(t *testing.T) {
	in := rCreated + rAdded + rDelta + rFailed
	rec, _, _, err := relayResponses(t, strings.NewReader(in))
	var e *llm.Error
	if !errors.As(err, &e) || !e.Relayed || e.Kind != llm.KindStream || e.Code != "server_error" || rec.Body.String() != in {
		t.Fatalf("err %#v, body %q", err, rec.Body.String())
	}
	// An error event, then the end of the stream.
	in = rCreated + rAdded + strings.Replace(rError, `"sequence_number":2`, `"sequence_number":3`, 1)
	rec, _, _, err = relayResponses(t, strings.NewReader(in))
	if !errors.As(err, &e) || !e.Relayed || e.Code != "rate_limit_exceeded" || rec.Body.String() != in {
		t.Fatalf("err %#v, body %q", err, rec.Body.String())
	}
}

// A stream that breaks off after output gets a response.failed from the
// router, next in the sequence, for the upstream's response id; usage is
// estimated from what arrived.
func TestRelayResponsesCut(t *testing.T) {
	for name, body := range map[string]io.Reader{
		"eof":    strings.NewReader(rCreated + rAdded + rDelta),
		"broken": io.MultiReader(strings.NewReader(rCreated+rAdded+rDelta), errReader{io.ErrUnexpectedEOF}),
	} {
		rec, _, u, err := relayResponses(t, body)
		var e *llm.Error
		if !errors.As(err, &e) || !e.Relayed || e.Kind != llm.KindConnect || !strings.Contains(e.Message, `target "gpt"`) {
			t.Fatalf("%s: err %#v", name, err)
		}
		out := rec.Body.String()
		last := out[strings.LastIndex(strings.TrimSuffix(out, "\n\n"), "\n\n")+2:]
		name0, data, _ := strings.Cut(strings.TrimSpace(last), "\n")
		d := gjson.Parse(strings.TrimPrefix(data, "data: "))
		if name0 != "event: response.failed" || d.Get("sequence_number").Int() != 4 || d.Get("response.id").Str != "resp_1" ||
			d.Get("response.created_at").Int() != 1700000000 || d.Get("response.status").Str != "failed" || d.Get("response.error.code").Str != "upstream_error" {
			t.Fatalf("%s: last event %q", name, last)
		}
		if !strings.HasPrefix(out, rCreated+rAdded+rDelta) {
			t.Fatalf("%s: stream %q", name, out)
		}
		if u.CompletionTokens != 1 || u.PromptTokens == 0 {
			t.Fatalf("%s: estimated usage %+v", name, u)
		}
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// The first output is flushed to the client before the upstream sends
// more.
func TestRelayResponsesFlushes(t *testing.T) {
	pr, pw := io.Pipe()
	rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan string, 16)}
	w := stream.NewWriter(rec)
	done := make(chan error, 1)
	go func() {
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: pr}
		_, err := RelayResponses(w, resp, &llm.Call{Stream: true, Upstream: &llm.Upstream{Name: "gpt"}})
		done <- err
	}()
	go func() { _, _ = pw.Write([]byte(rCreated + rInProgress + rAdded)) }()
	select {
	case got := <-rec.flushed:
		if got != rCreated+rInProgress+rAdded {
			t.Fatalf("flushed %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first output was not flushed")
	}
	go func() { _, _ = pw.Write([]byte(rDelta + rCompleted)); pw.Close() }()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type flushRecorder struct {
	*httptest.ResponseRecorder
	flushed chan string
}

func (r *flushRecorder) Flush() {
	r.ResponseRecorder.Flush()
	r.flushed <- r.Body.String()
}

// A JSON answer passes unchanged, its usage read.
func TestRelayResponsesJSON(t *testing.T) {
	body := `{"id":"resp_1","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":3,"output_tokens":5,"output_tokens_details":{"reasoning_tokens":5}}}`
	rec := httptest.NewRecorder()
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
	u, err := RelayResponses(stream.NewWriter(rec), resp, &llm.Call{})
	if err != nil || rec.Body.String() != body || u != (llm.Usage{PromptTokens: 3, CompletionTokens: 5, ReasoningTokens: 5, FinishReason: "length"}) {
		t.Fatalf("%v %+v %q", err, u, rec.Body.String())
	}
}

// The passthrough request: {base_url}/responses, the body but for its
// model, the bearer key, the forwarded client headers, the target's own
// headers last.
func TestNewNativeRequest(t *testing.T) {
	c := &llm.Call{
		Op: llm.OpResponses, Stream: true, Model: "gpt-5",
		Body:         []byte(`{ "model":"alias", "stream":true, "input":"hi", "previous_response_id":"resp_0"}`),
		ClientHeader: http.Header{"Openai-Beta": {"responses=v1"}},
		Upstream:     &llm.Upstream{Name: "gpt", BaseURL: "http://x/v1", APIKey: "k", Header: http.Header{"X-Org": {"o"}}},
	}
	req, err := Provider{}.NewNativeRequest(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if req.URL.String() != "http://x/v1/responses" || string(body) != `{ "model":"gpt-5", "stream":true, "input":"hi", "previous_response_id":"resp_0"}` ||
		req.Header.Get("Authorization") != "Bearer k" || req.Header.Get("OpenAI-Beta") != "responses=v1" || req.Header.Get("X-Org") != "o" ||
		req.Header.Get("Accept") != "text/event-stream" || req.ContentLength != int64(len(body)) {
		t.Fatalf("%s %s %v", req.URL, body, req.Header)
	}
	if !(Provider{}).Speaks(llm.OpResponses) || (Provider{}).Speaks(llm.OpMessages) {
		t.Fatal("Speaks")
	}
}

// FuzzRelayResponses: whatever an upstream streams, the relay does not
// panic, and what reaches the client is the input's lines or the router's
// own response.failed event.
func FuzzRelayResponses(f *testing.F) {
	f.Add(rCreated + rInProgress + rAdded + rDelta + rCompleted)
	f.Add(rCreated + rAdded + rDelta)
	f.Add(rCreated + rError + rFailed)
	f.Add(": c\r\n\r\ndata: {\"type\":\"response.completed\"}\r\n\r\n")
	f.Add("data: {\"sequence_number\":\"x\",\"type\":\"response.output_text.delta\"}\n\ndata: {}\n\n")
	f.Add("event: response.created\ndata: " + strings.Repeat("[", 5000) + "\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		rec, _, _, err := relayResponses(t, strings.NewReader(in))
		var pe *llm.Error
		if errors.As(err, &pe) && pe.Message == "" {
			t.Fatal("an error without a message")
		}
		out := rec.Body.Bytes()
		if len(out) == 0 {
			return
		}
		if !bytes.HasSuffix(out, []byte("\n")) {
			t.Fatalf("output does not end an event: %q", out)
		}
		for _, line := range bytes.SplitAfter(out, []byte("\n")) {
			line = bytes.TrimRight(line, "\r\n")
			if len(line) == 0 || strings.Contains(in, string(line)) || string(line) == "event: response.failed" {
				continue
			}
			if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok && gjson.GetBytes(d, "type").Str == "response.failed" && gjson.ValidBytes(d) {
				continue
			}
			t.Fatalf("line %q is not from the input", line)
		}
	})
}

func BenchmarkRelayResponsesStream(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(rCreated + rInProgress + rAdded)
	for i := 0; i < 200; i++ {
		sb.WriteString(rDelta)
	}
	sb.WriteString(rCompleted)
	in := sb.String()
	c := &llm.Call{Stream: true, Upstream: &llm.Upstream{Name: "gpt"}}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		w := stream.NewWriter(discard{})
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(in))}
		if _, err := RelayResponses(w, resp, c); err != nil {
			b.Fatal(err)
		}
	}
}

// A server that ignored `stream` answered with a whole response: the
// client that asked for a stream gets that response as its events.
func TestRelayResponsesJSONToStream(t *testing.T) {
	body := `{"id":"resp_9","object":"response","status":"completed","output":[` +
		`{"id":"rs_1","type":"reasoning","summary":[]},` +
		`{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi \"there\"","annotations":[]}]},` +
		`{"id":"fc_1","type":"function_call","status":"completed","call_id":"call_1","name":"f","arguments":"{\"a\":1}"}],` +
		`"usage":{"input_tokens":3,"output_tokens":5,"total_tokens":8}}`
	rec := httptest.NewRecorder()
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}, "Content-Length": {"999"}}, Body: io.NopCloser(strings.NewReader(body))}
	u, err := RelayResponses(stream.NewWriter(rec), resp, &llm.Call{Stream: true})
	if err != nil || u.CompletionTokens != 5 {
		t.Fatalf("%v %+v", err, u)
	}
	if rec.Header().Get("Content-Type") != "text/event-stream" || rec.Header().Get("Content-Length") != "" {
		t.Fatalf("headers %v", rec.Header())
	}
	var names []string
	var text, args string
	for i, block := range strings.Split(strings.TrimSuffix(rec.Body.String(), "\n\n"), "\n\n") {
		name, data, _ := strings.Cut(block, "\n")
		d := gjson.Parse(strings.TrimPrefix(data, "data: "))
		var ev responses.ResponseStreamEventUnion
		if err := json.Unmarshal([]byte(d.Raw), &ev); err != nil || "event: "+ev.Type != name || ev.SequenceNumber != int64(i) {
			t.Fatalf("event %d %q: %v", i, block, err)
		}
		names = append(names, ev.Type)
		switch ev.Type {
		case "response.output_text.delta":
			text += ev.Delta
		case "response.function_call_arguments.delta":
			args += ev.Delta
		case "response.created":
			if ev.Response.Status != "in_progress" || len(ev.Response.Output) != 0 {
				t.Fatalf("created %s", d.Raw)
			}
		case "response.completed":
			if d.Get("response").Raw != body {
				t.Fatalf("completed %s", d.Raw)
			}
		}
	}
	want := "response.created response.in_progress response.output_item.added response.output_item.done " +
		"response.output_item.added response.content_part.added response.output_text.delta response.output_text.done response.content_part.done response.output_item.done " +
		"response.output_item.added response.function_call_arguments.delta response.function_call_arguments.done response.output_item.done response.completed"
	if strings.Join(names, " ") != want || text != `Hi "there"` || args != `{"a":1}` {
		t.Fatalf("events %v, text %q, args %q", names, text, args)
	}
}

// FuzzResponseEvents: any JSON answer renders as events of valid JSON.
func FuzzResponseEvents(f *testing.F) {
	f.Add(`{"status":"incomplete","output":[{"type":"message","content":[{"type":"refusal","refusal":"no"},{"type":"x"}]}]}`)
	f.Add(`{"output":[{"type":"function_call","arguments":1,"id":null}],"status":"failed"}`)
	f.Add(`{"output":[1,"a",null,{"type":"message","content":"text"}]}`)
	f.Add(`"not an object"`)
	f.Fuzz(func(t *testing.T, body string) {
		if !json.Valid([]byte(body)) {
			return
		}
		out := string(responseEvents([]byte(body)))
		for _, block := range strings.Split(strings.TrimSuffix(out, "\n\n"), "\n\n") {
			_, data, _ := strings.Cut(block, "\n")
			if d := strings.TrimPrefix(data, "data: "); !json.Valid([]byte(d)) || strings.Contains(d, "\n") {
				t.Fatalf("invalid event %q for %s", block, body)
			}
		}
	})
}

// A stream cut by the attempt's deadline says so, in the router's words.
func TestRelayResponsesTimeout(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("attempt timed out"))
	rec := httptest.NewRecorder()
	resp := &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body:    io.NopCloser(io.MultiReader(strings.NewReader(rCreated+rAdded), errReader{context.Canceled})),
		Request: (&http.Request{}).WithContext(ctx),
	}
	_, err := RelayResponses(stream.NewWriter(rec), resp, &llm.Call{Stream: true, Upstream: &llm.Upstream{Name: "gpt"}})
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindTimeout || e.Code != "upstream_timeout" || e.Message != `target "gpt": attempt timed out` || !e.Relayed {
		t.Fatalf("%#v", err)
	}
	if !strings.Contains(rec.Body.String(), `"code":"upstream_timeout","message":"target \"gpt\": attempt timed out"`) {
		t.Fatalf("body %s", rec.Body.String())
	}
}
