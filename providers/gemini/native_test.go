package gemini

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func nativeCall(op llm.Op, body string, streamed bool) *llm.Call {
	return &llm.Call{Op: op, Body: []byte(body), ClientModel: "alias", Model: "gemini-2.5-flash",
		Stream: streamed, IncludeUsage: true, Upstream: upstream()}
}

func TestSpeaks(t *testing.T) {
	for _, op := range []llm.Op{llm.OpGenerateContent, llm.OpGeminiCountTokens, llm.OpEmbedContent, llm.OpBatchEmbedContents} {
		if !(Provider{}).Speaks(op) {
			t.Errorf("does not speak %s", op)
		}
	}
	for _, op := range []llm.Op{llm.OpChat, llm.OpEmbeddings, llm.OpMessages, llm.OpResponses, llm.OpCountTokens} {
		if (Provider{}).Speaks(op) {
			t.Errorf("speaks %s", op)
		}
	}
}

// The client's body goes upstream byte for byte — odd spacing, unknown
// fields, thought signatures — to the method's URL, the key in its header.
func TestNewNativeRequest(t *testing.T) {
	body := "{ \"contents\" : [ {\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{}},\"thoughtSignature\":\"c2ln\"}]} ],\n\t\"futureField\": {\"x\": 1e3} }"
	tests := []struct {
		op      llm.Op
		stream  bool
		url     string
		version string
	}{
		{llm.OpGenerateContent, false, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent", ""},
		{llm.OpGenerateContent, true, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", ""},
		{llm.OpGeminiCountTokens, false, "https://generativelanguage.googleapis.com/v1/models/gemini-2.5-flash:countTokens", "v1"},
	}
	for _, tt := range tests {
		c := nativeCall(tt.op, body, tt.stream)
		if tt.version != "" {
			c.Upstream.APIVersion = tt.version
		}
		c.ClientKey = "client-key"
		c.Upstream.Header = http.Header{"X-Extra": {"1"}}
		req, err := Provider{}.NewNativeRequest(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(req.Body)
		if req.URL.String() != tt.url || string(got) != body || req.ContentLength != int64(len(body)) {
			t.Errorf("%s: %s %q", tt.op, req.URL, got)
		}
		if req.Header.Get("X-Goog-Api-Key") != "AIza-test-key" || req.Header.Get("X-Extra") != "1" ||
			req.Header.Get("Authorization") != "" || req.URL.Query().Has("key") {
			t.Errorf("%s: headers %v", tt.op, req.Header)
		}
		if again, _ := req.GetBody(); again == nil {
			t.Errorf("%s: no GetBody for retries", tt.op)
		}
	}
	// Bring your own key: the client's, in the same header.
	c := nativeCall(llm.OpGenerateContent, body, false)
	c.Upstream.APIKey, c.ClientKey = "", "AIza-client"
	req, _ := Provider{}.NewNativeRequest(context.Background(), c)
	if req.Header.Get("X-Goog-Api-Key") != "AIza-client" {
		t.Fatalf("byok key %q", req.Header.Get("X-Goog-Api-Key"))
	}
}

// batchEmbedContents names the model in every request: those that name
// another one are spliced to the upstream model, nothing else changes.
func TestNativeBatchEmbedModels(t *testing.T) {
	body := `{"requests": [ {"model": "models/alias", "content": {"parts":[{"text":"a"}]}},
  {"content": {"parts":[{"text":"b"}]}, "model":"models/gemini-2.5-flash"}, {"model" :"alias","taskType":"X"} ] }`
	want := `{"requests": [ {"model": "models/gemini-2.5-flash", "content": {"parts":[{"text":"a"}]}},
  {"content": {"parts":[{"text":"b"}]}, "model":"models/gemini-2.5-flash"}, {"model" :"models/gemini-2.5-flash","taskType":"X"} ] }`
	req, err := Provider{}.NewNativeRequest(context.Background(), nativeCall(llm.OpBatchEmbedContents, body, false))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(req.Body)
	if string(got) != want || !strings.HasSuffix(req.URL.Path, "/models/gemini-2.5-flash:batchEmbedContents") {
		t.Fatalf("%s\n%s", req.URL, got)
	}
	// Nothing to change: the client's very bytes.
	same := []byte(`{"requests":[{"model":"models/gemini-2.5-flash","content":{"parts":[{"text":"a"}]}}]}`)
	if out := spliceModels(same, "requests.#.model", "models/gemini-2.5-flash"); &out[0] != &same[0] {
		t.Fatalf("copied: %s", out)
	}
	one := `{"model":"models/alias","content":{"parts":[{"text":"a"}]}}`
	req, _ = Provider{}.NewNativeRequest(context.Background(), nativeCall(llm.OpEmbedContent, one, false))
	if got, _ := io.ReadAll(req.Body); string(got) != `{"model":"models/gemini-2.5-flash","content":{"parts":[{"text":"a"}]}}` {
		t.Fatalf("embedContent: %s", got)
	}
}

func response(ct string, body string) *http.Response {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {ct}, "X-Goog-Request-Id": {"r1"}, "Content-Length": {"9"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

const answer = "{\n  \"candidates\": [{\"content\": {\"parts\": [{\"text\": \"hi\", \"thoughtSignature\": \"c2ln\"}], \"role\": \"model\"}, \"finishReason\": \"STOP\"}],\n" +
	"  \"usageMetadata\": {\"promptTokenCount\": 10, \"candidatesTokenCount\": 4, \"totalTokenCount\": 30, \"cachedContentTokenCount\": 6, \"thoughtsTokenCount\": 16, \"toolUsePromptTokenCount\": 2},\n  \"modelVersion\": \"gemini-2.5-flash\"\n}\n"

var answerUsage = llm.Usage{PromptTokens: 12, CompletionTokens: 20, CacheReadTokens: 6, ReasoningTokens: 16}

func TestRelayNativeJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	usage, err := Provider{}.RelayNative(stream.NewWriter(rec), response("application/json; charset=UTF-8", answer), nativeCall(llm.OpGenerateContent, "{}", false))
	if err != nil {
		t.Fatal(err)
	}
	want := answerUsage
	want.FinishReason = "STOP"
	if rec.Body.String() != answer || usage != want {
		t.Fatalf("%q %+v", rec.Body, usage)
	}
	if rec.Header().Get("X-Goog-Request-Id") != "r1" || rec.Header().Get("Content-Length") != "" ||
		rec.Header().Get("Content-Type") != "application/json; charset=UTF-8" {
		t.Fatalf("headers %v", rec.Header())
	}
	// Not JSON: a failed attempt, nothing sent.
	w := stream.NewWriter(httptest.NewRecorder())
	_, err = Provider{}.RelayNative(w, response("text/html", "<html>"), nativeCall(llm.OpGenerateContent, "{}", false))
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindInvalid || w.Committed() {
		t.Fatalf("got %v", err)
	}
	// Too large: refused while reading.
	c := nativeCall(llm.OpGenerateContent, "{}", false)
	c.MaxResponseBody = 10
	if _, err := (Provider{}).RelayNative(stream.NewWriter(httptest.NewRecorder()), response("application/json", answer), c); !errors.Is(err, llm.ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
}

const sseStream = ": keep-alive\r\n\r\n" +
	"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hel\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 10,\"totalTokenCount\": 10}}\r\n\r\n" +
	"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"lo\", \"thoughtSignature\": \"c2ln\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 10,\"candidatesTokenCount\": 4,\"totalTokenCount\": 14}}\r\n\r\n"

// flushCounter counts the flushes that reach the client.
type flushCounter struct {
	*httptest.ResponseRecorder
	flushes int
}

func (f *flushCounter) Flush() { f.flushes++; f.ResponseRecorder.Flush() }

func TestRelayNativeStream(t *testing.T) {
	for _, oneByte := range []bool{false, true} {
		rec := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
		resp := response("text/event-stream", sseStream)
		if oneByte {
			resp.Body = io.NopCloser(iotest.OneByteReader(strings.NewReader(sseStream)))
		}
		usage, err := Provider{}.RelayNative(stream.NewWriter(rec), resp, nativeCall(llm.OpGenerateContent, "{}", true))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Body.String() != sseStream || usage != (llm.Usage{PromptTokens: 10, CompletionTokens: 4, FinishReason: "STOP"}) || rec.flushes < 2 {
			t.Fatalf("%q %+v, %d flushes", rec.Body, usage, rec.flushes)
		}
	}
}

// An error as the first event fails the attempt before anything is
// committed; later, it passes to the client as it came and ends the
// attempt, marked as relayed.
func TestRelayNativeStreamErrors(t *testing.T) {
	googleErr := `{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}`
	w := stream.NewWriter(httptest.NewRecorder())
	_, err := Provider{}.RelayNative(w, response("text/event-stream", ": hi\n\ndata: "+googleErr+"\r\n\r\n"), nativeCall(llm.OpGenerateContent, "{}", true))
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindStream || e.Relayed || e.Status != 503 || w.Committed() ||
		e.Format != llm.FormatGemini || string(e.Body) != googleErr {
		t.Fatalf("first event: %+v committed %v", e, w.Committed())
	}

	first := "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\r\n\r\n"
	rec := httptest.NewRecorder()
	w = stream.NewWriter(rec)
	_, err = Provider{}.RelayNative(w, response("text/event-stream", first+"data: "+googleErr+"\r\n\r\n"), nativeCall(llm.OpGenerateContent, "{}", true))
	if !errors.As(err, &e) || !e.Relayed || e.Kind != llm.KindStream || rec.Body.String() != first+"data: "+googleErr+"\r\n\r\n" {
		t.Fatalf("midway: %+v %q", err, rec.Body)
	}

	// Cut before any finishReason.
	rec = httptest.NewRecorder()
	_, err = Provider{}.RelayNative(stream.NewWriter(rec), response("text/event-stream", first), nativeCall(llm.OpGenerateContent, "{}", true))
	if !errors.Is(err, ErrStreamCut) || rec.Body.String() != first {
		t.Fatalf("cut: %v %q", err, rec.Body)
	}
}

// A stream sent as one JSON array (no alt=sse) reaches the client as
// Gemini's events.
func TestRelayNativeArray(t *testing.T) {
	body := "[{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"a\"}]}}]}\n,\r\n{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"b\"}]}, \"finishReason\": \"STOP\"}], \"usageMetadata\": {\"promptTokenCount\": 3, \"candidatesTokenCount\": 2}}]"
	rec := httptest.NewRecorder()
	usage, err := Provider{}.RelayNative(stream.NewWriter(rec), response("application/json", body), nativeCall(llm.OpGenerateContent, "{}", true))
	want := "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\r\n\r\n" +
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"b\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2}}\r\n\r\n"
	if err != nil || rec.Body.String() != want || usage.PromptTokens != 3 || rec.Header().Get("Content-Type") != stream.ContentType {
		t.Fatalf("%v %q %+v", err, rec.Body, usage)
	}
	w := stream.NewWriter(httptest.NewRecorder())
	_, err = Provider{}.RelayNative(w, response("application/json", `[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]`), nativeCall(llm.OpGenerateContent, "{}", true))
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 429 || w.Committed() {
		t.Fatalf("error array: %v", err)
	}
	// Nothing, something else, or an answer that never finished: a failed
	// attempt, nothing sent.
	for body, want := range map[string]error{
		`[]`: ErrStreamCut, `[1]`: unreadable("stream"),
		`[{"candidates":[{"content":{"parts":[{"text":"a"}]}}]}]`: ErrStreamCut,
	} {
		w := stream.NewWriter(httptest.NewRecorder())
		_, err := Provider{}.RelayNative(w, response("application/json", body), nativeCall(llm.OpGenerateContent, "{}", true))
		if err == nil || err.Error() != want.Error() || w.Committed() {
			t.Fatalf("%s: got %v", body, err)
		}
	}
}

// The hub path reports cache and reasoning tokens too.
func TestHubUsage(t *testing.T) {
	rec := httptest.NewRecorder()
	usage, err := Provider{}.WriteResponse(stream.NewWriter(rec), jsonResponse([]byte(answer)), chatCall([]byte(`{"messages":[]}`), false, false))
	if err != nil || usage != answerUsage {
		t.Fatalf("%v %+v", err, usage)
	}
}

func BenchmarkRelayNative(b *testing.B) {
	events := bytes.Repeat([]byte("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"token \"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 10,\"totalTokenCount\": 10},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n"), 50)
	events = append(events, "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 10,\"candidatesTokenCount\": 50,\"totalTokenCount\": 60}}\r\n\r\n"...)
	b.Run("stream", func(b *testing.B) {
		c := nativeCall(llm.OpGenerateContent, "{}", true)
		b.SetBytes(int64(len(events)))
		b.ReportAllocs()
		for b.Loop() {
			resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(events))}
			if _, err := (Provider{}).RelayNative(stream.NewWriter(httptest.NewRecorder()), resp, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		c := nativeCall(llm.OpGenerateContent, "{}", false)
		b.SetBytes(int64(len(answer)))
		b.ReportAllocs()
		for b.Loop() {
			resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(answer)), ContentLength: int64(len(answer))}
			if _, err := (Provider{}).RelayNative(stream.NewWriter(httptest.NewRecorder()), resp, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("request", func(b *testing.B) {
		c := nativeCall(llm.OpGenerateContent, answer, true)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (Provider{}).NewNativeRequest(context.Background(), c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
