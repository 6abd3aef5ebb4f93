package openai

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
	"github.com/tidwall/gjson"
)

func sseResponse(body string) *http.Response {
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": {"text/event-stream; charset=utf-8"}, "X-Request-Id": {"req-1"}, "Set-Cookie": {"a=b"}},
		Body:       io.NopCloser(strings.NewReader(body)),
	}
}

func relay(t *testing.T, body string, includeUsage bool) (*httptest.ResponseRecorder, *stream.Writer, llm.Usage, error) {
	t.Helper()
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	c := &llm.Call{Stream: true, IncludeUsage: includeUsage, Body: []byte(`{"model":"m","messages":[{"role":"user","content":"four byte tokens"}]}`)}
	u, err := Relay(w, sseResponse(body), c)
	return rec, w, u, err
}

const (
	chunk1     = `{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}`
	chunkStop  = `{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`
	usageChunk = `{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}`
)

// The stream passes byte for byte, but for the usage chunk the client did
// not ask for; usage is recorded either way.
func TestRelayStripsUnaskedUsage(t *testing.T) {
	in := "data: " + chunk1 + "\n\n" + "data: " + chunkStop + "\n\n" + "data: " + usageChunk + "\n\n" + "data: [DONE]\n\n"
	rec, _, u, err := relay(t, in, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "data: " + chunk1 + "\n\n" + "data: " + chunkStop + "\n\n" + "data: [DONE]\n\n"
	if rec.Body.String() != want {
		t.Fatalf("body\n%q\nwant\n%q", rec.Body.String(), want)
	}
	if u != (llm.Usage{PromptTokens: 5, CompletionTokens: 7}) {
		t.Fatalf("usage %+v", u)
	}
	if rec.Header().Get("X-Request-Id") != "req-1" || rec.Header().Get("Set-Cookie") != "" {
		t.Fatalf("headers %v", rec.Header())
	}

	rec, _, _, err = relay(t, in, true)
	if err != nil || rec.Body.String() != in {
		t.Fatalf("a client that asked must get the stream unchanged: %v\n%q", err, rec.Body.String())
	}
}

// Comments before the first event are held, so an error event right after
// them still leaves the response uncommitted (retryable).
func TestRelayHoldsCommentsUntilFirstEvent(t *testing.T) {
	_, w, _, err := relay(t, ": OPENROUTER PROCESSING\n\ndata: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":503}}\n\n", false)
	var pe *llm.Error
	if !errors.As(err, &pe) || pe.Kind != llm.KindStream || pe.Message != "overloaded" || pe.Code != "503" || pe.Type != "server_error" {
		t.Fatalf("err %#v", err)
	}
	if w.Committed() {
		t.Fatal("committed before the first data event")
	}
	rec, _, _, err := relay(t, ": keep-alive\n\ndata: "+chunk1+"\n\n: ping\n\ndata: "+chunkStop+"\n\ndata: [DONE]\n\n", false)
	if err != nil || !strings.HasPrefix(rec.Body.String(), ": keep-alive\n\ndata: ") || !strings.Contains(rec.Body.String(), ": ping\n\n") {
		t.Fatalf("comments lost: %v %q", err, rec.Body.String())
	}
}

// An error object after the first event is a stream failure; usage is
// estimated from what arrived.
func TestRelayErrorMidStream(t *testing.T) {
	_, w, u, err := relay(t, "data: "+chunk1+"\n\ndata: "+chunk1+"\n\ndata: {\"error\":{\"message\":\"boom\"}}\n\n", false)
	var pe *llm.Error
	if !errors.As(err, &pe) || !w.Committed() {
		t.Fatalf("err %v committed %v", err, w.Committed())
	}
	if u.CompletionTokens != 2 || u.PromptTokens == 0 {
		t.Fatalf("estimated usage %+v", u)
	}
}

// An upstream that ends after its finish reason without [DONE] gets one; a
// stream cut before it finished is an error.
func TestRelayEndings(t *testing.T) {
	rec, _, _, err := relay(t, "data: "+chunk1+"\n\ndata: "+chunkStop+"\n\n", false)
	if err != nil || !strings.HasSuffix(rec.Body.String(), "data: [DONE]\n\n") {
		t.Fatalf("missing [DONE] not added: %v %q", err, rec.Body.String())
	}
	_, _, _, err = relay(t, "data: "+chunk1+"\n\n", false)
	if !errors.Is(err, ErrStreamCut) {
		t.Fatalf("cut stream: %v", err)
	}
}

// A JSON answer to a stream request (a server that ignores `stream`) is
// relayed as a stream of that answer, usage included (SPEC 5.3).
func TestRelayJSONAnswerToStream(t *testing.T) {
	answer := `{"id":"c1","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi \"there\"","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`
	for _, includeUsage := range []bool{false, true} {
		rec := httptest.NewRecorder()
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}, "Content-Length": {"9"}},
			Body: io.NopCloser(strings.NewReader(answer))}
		u, err := Relay(stream.NewWriter(rec), resp, &llm.Call{Stream: true, IncludeUsage: includeUsage})
		if err != nil || u.CompletionTokens != 2 || u.FinishReason != "tool_calls" {
			t.Fatalf("%v %+v", err, u)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" || rec.Header().Get("Content-Length") != "" {
			t.Fatalf("headers %v", rec.Header())
		}
		var content, args, finish string
		var sawUsage, done bool
		for _, line := range strings.Split(rec.Body.String(), "\n") {
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				continue
			}
			if data == "[DONE]" {
				done = true
				continue
			}
			if !gjson.Valid(data) || gjson.Get(data, "object").Str != "chat.completion.chunk" || gjson.Get(data, "id").Str != "c1" {
				t.Fatalf("chunk %s", data)
			}
			content += gjson.Get(data, "choices.0.delta.content").Str
			args += gjson.Get(data, "choices.0.delta.tool_calls.0.function.arguments").Str
			if f := gjson.Get(data, "choices.0.finish_reason").Str; f != "" {
				finish = f
			}
			sawUsage = sawUsage || gjson.Get(data, "usage.total_tokens").Int() == 3
		}
		if content != `Hi "there"` || args != `{"a":1}` || finish != "tool_calls" || !done || sawUsage != includeUsage {
			t.Fatalf("content %q args %q finish %q done %v usage %v\n%s", content, args, finish, done, sawUsage, rec.Body.String())
		}
	}
}

// A 2xx whose body is not complete JSON fails the attempt (it can be
// retried) and writes nothing.
func TestRelayTruncatedJSON(t *testing.T) {
	for _, body := range []string{`{"id":"c1","choices":[{"message":{"content":"hal`, `<html>oops</html>`, ``} {
		rec := httptest.NewRecorder()
		w := stream.NewWriter(rec)
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
		if _, err := Relay(w, resp, &llm.Call{}); !errors.Is(err, ErrInvalidAnswer) || w.Committed() {
			t.Fatalf("%q: %v committed %v", body, err, w.Committed())
		}
	}
}

func TestParseError(t *testing.T) {
	body := []byte("{\n  \"error\": {\"message\": \"Rate limit\", \"type\": \"requests\", \"param\": null, \"code\": \"rate_limit_exceeded\"}\n}\n")
	e := ParseError(&http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"2"}}}, body)
	if string(e.Body) != string(body) || e.Code != "rate_limit_exceeded" || e.Type != "requests" || e.RetryAfter.Seconds() != 2 || e.Status != 429 {
		t.Fatalf("%+v", e)
	}
	e = ParseError(&http.Response{StatusCode: 502, Header: http.Header{}}, []byte("<html><body>Bad   gateway</body></html>"))
	if e.Body != nil || e.Code != "upstream_error" || !strings.Contains(e.Message, "502") || !strings.Contains(e.Message, "Bad gateway") {
		t.Fatalf("%+v", e)
	}
}

// Requests carry the client's body with the model replaced and the usage
// request added, plus the bearer key.
func TestNewRequest(t *testing.T) {
	c := &llm.Call{
		Op: llm.OpChat, Stream: true, Model: "up",
		Body:     []byte(`{"model":"m","stream":true,"messages":[]}`),
		Upstream: &llm.Upstream{Name: "t", BaseURL: "http://x/v1", APIKey: "k", Header: http.Header{"X-Org": {"o"}}},
	}
	req, err := Provider{}.NewRequest(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if req.URL.String() != "http://x/v1/chat/completions" || string(body) != `{"model":"up","stream":true,"messages":[],"stream_options":{"include_usage":true}}` ||
		req.Header.Get("Authorization") != "Bearer k" || req.Header.Get("X-Org") != "o" || req.ContentLength != int64(len(body)) {
		t.Fatalf("%s %s %v", req.URL, body, req.Header)
	}
	c.Upstream.APIKey, c.ClientKey = "", "byok"
	req, _ = Provider{}.NewRequest(t.Context(), c)
	if req.Header.Get("Authorization") != "Bearer byok" {
		t.Fatal("client key not forwarded")
	}
}

func BenchmarkRelayStream(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 50; i++ {
		sb.WriteString("data: " + chunk1 + "\n\n")
	}
	sb.WriteString("data: " + chunkStop + "\n\ndata: " + usageChunk + "\n\ndata: [DONE]\n\n")
	in := sb.String()
	c := &llm.Call{Stream: true}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		w := stream.NewWriter(discard{})
		if _, err := Relay(w, sseResponse(in), c); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}

// An indented JSON answer to a streamed request still makes one data line
// per event.
func TestRelayIndentedJSONAnswerToStream(t *testing.T) {
	answer := "{\n  \"id\": \"c1\",\n  \"object\": \"chat.completion\",\n  \"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \"hi\",\n    \"thinking_blocks\": [\n      {\"type\": \"thinking\", \"thinking\": \"t\", \"signature\": \"s\"}\n    ]}, \"finish_reason\": \"stop\"}],\n  \"usage\": {\n    \"prompt_tokens\": 1,\n    \"completion_tokens\": 2\n  }\n}\n"
	rec := httptest.NewRecorder()
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(answer))}
	if _, err := Relay(stream.NewWriter(rec), resp, &llm.Call{Stream: true, IncludeUsage: true}); err != nil {
		t.Fatal(err)
	}
	for _, event := range strings.Split(strings.TrimSuffix(rec.Body.String(), "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(event, "data: ")
		if !ok || strings.Contains(data, "\n") || (data != "[DONE]" && !gjson.Valid(data)) {
			t.Fatalf("event %q", event)
		}
	}
}
