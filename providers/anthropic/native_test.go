package anthropic

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func nativeCall(op llm.Op, body string, stream bool, h http.Header) *llm.Call {
	return &llm.Call{
		Op: op, Body: []byte(body), ClientModel: "claude", Model: testModel, Stream: stream,
		ClientHeader: h,
		Upstream:     &llm.Upstream{Name: "claude", BaseURL: "http://up", APIKey: "sk-ant-test-key", Header: http.Header{"X-Extra": {"1"}}},
	}
}

// The client's body goes upstream byte for byte but for the model, with the
// Messages API's headers.
func TestNativeRequest(t *testing.T) {
	body := `{ "model" : "claude",  "max_tokens":1e3, "unknown_beta_field":{"x":[1, 2]},` + "\n" +
		`"messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}`
	for _, tc := range []struct {
		name          string
		op            llm.Op
		client        http.Header
		apiVersion    string
		path, version string
		beta          []string
	}{
		{"client version", llm.OpMessages, http.Header{"Anthropic-Version": {"2023-01-01"}, "Anthropic-Beta": {"a-1", "b-2"}}, "2024-10-22",
			"/v1/messages", "2023-01-01", []string{"a-1", "b-2"}},
		{"target version", llm.OpMessages, nil, "2024-10-22", "/v1/messages", "2024-10-22", nil},
		{"default version", llm.OpCountTokens, nil, "", "/v1/messages/count_tokens", DefaultVersion, nil},
	} {
		c := nativeCall(tc.op, body, false, tc.client)
		c.Upstream.APIVersion = tc.apiVersion
		req, err := (Provider{}).NewNativeRequest(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(req.Body)
		want := strings.Replace(body, `"claude"`, `"`+testModel+`"`, 1)
		if string(got) != want || req.ContentLength != int64(len(want)) {
			t.Errorf("%s: body\n%s\nwant\n%s", tc.name, got, want)
		}
		h := req.Header
		if req.URL.Path != tc.path || h.Get("X-Api-Key") != "sk-ant-test-key" || h.Get("Anthropic-Version") != tc.version ||
			strings.Join(h["Anthropic-Beta"], ",") != strings.Join(tc.beta, ",") || h.Get("X-Extra") != "1" || h.Get("Authorization") != "" {
			t.Errorf("%s: %s %v", tc.name, req.URL.Path, h)
		}
	}
	if !(Provider{}).Speaks(llm.OpMessages) || !(Provider{}).Speaks(llm.OpCountTokens) || (Provider{}).Speaks(llm.OpChat) {
		t.Error("Speaks")
	}
}

// A message passes back byte for byte, its usage read.
func TestNativeRelayMessage(t *testing.T) {
	msg := `{"id":"msg_1","type":"message","content":[{"type":"thinking","thinking":"x","signature":"sig=="}],` +
		`"usage":{"input_tokens":3,"cache_creation_input_tokens":5,"cache_read_input_tokens":7,"output_tokens":11,"output_tokens_details":{"thinking_tokens":4}}}`
	rec := newRecorder()
	w := stream.NewWriter(rec)
	resp := upstreamResponse("application/json", strings.NewReader(msg))
	resp.Header.Set("Request-Id", "req_1")
	u, err := (Provider{}).RelayNative(w, resp, nativeCall(llm.OpMessages, `{}`, false, nil))
	if err != nil || rec.Body.String() != msg || rec.Header().Get("Request-Id") != "req_1" {
		t.Fatalf("err %v body %s header %v", err, rec.Body, rec.Header())
	}
	want := llm.Usage{PromptTokens: 15, CompletionTokens: 11, CacheReadTokens: 7, CacheWriteTokens: 5, ReasoningTokens: 4}
	if u != want {
		t.Fatalf("usage %+v", u)
	}
	// Not JSON: a failed attempt, nothing written.
	rec = newRecorder()
	w = stream.NewWriter(rec)
	_, err = (Provider{}).RelayNative(w, upstreamResponse("application/json", strings.NewReader("<html>")), nativeCall(llm.OpMessages, `{}`, false, nil))
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindInvalid || w.Committed() {
		t.Fatalf("err %v committed %v", err, w.Committed())
	}
}

const (
	evStart = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":20,\"cache_creation_input_tokens\":30,\"output_tokens\":1}}}\n\n"
	evPing  = "event: ping\ndata: {\"type\": \"ping\"}\n\n"
	evBlock = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	evDelta = "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\r\n\r\n"
	evStop  = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	evMDel  = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":42}}\n\n"
	evMStop = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	evError = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
)

func relayStream(t *testing.T, sse string) (*flushRecorder, *stream.Writer, llm.Usage, error) {
	t.Helper()
	rec := newRecorder()
	w := stream.NewWriter(rec)
	u, err := (Provider{}).RelayNative(w, upstreamResponse(stream.ContentType, strings.NewReader(sse)), nativeCall(llm.OpMessages, `{}`, true, nil))
	return rec, w, u, err
}

// An event stream passes byte for byte (CRLF, spacing, pings included),
// its usage read from message_start and message_delta.
func TestNativeRelayStream(t *testing.T) {
	sse := evStart + evPing + evBlock + evDelta + ": comment\n\n" + evStop + evMDel + evMStop
	rec, _, u, err := relayStream(t, sse)
	if err != nil || rec.Body.String() != sse {
		t.Fatalf("err %v\n%q", err, rec.Body)
	}
	if want := (llm.Usage{PromptTokens: 60, CompletionTokens: 42, CacheReadTokens: 20, CacheWriteTokens: 30}); u != want {
		t.Fatalf("usage %+v", u)
	}
	if rec.Header().Get("Content-Type") != stream.ContentType || rec.flushes == 0 {
		t.Fatalf("header %v flushes %d", rec.Header(), rec.flushes)
	}
}

// An error before any content leaves nothing written, so the router can
// retry; after content it reaches the client as Anthropic sent it.
func TestNativeRelayStreamErrors(t *testing.T) {
	rec, w, _, err := relayStream(t, evStart+evPing+evError)
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindStream || e.Relayed || w.Committed() || rec.Body.Len() != 0 {
		t.Fatalf("early error: %v committed %v body %q", err, w.Committed(), rec.Body)
	}
	rec, w, _, err = relayStream(t, evStart+evBlock+evDelta+evError)
	if !errors.As(err, &e) || e.Kind != llm.KindStream || !e.Relayed || e.Type != "overloaded_error" || !w.Committed() ||
		rec.Body.String() != evStart+evBlock+evDelta+evError {
		t.Fatalf("late error: %v body %q", err, rec.Body)
	}
	_, _, u, err := relayStream(t, evStart+evBlock+evDelta)
	if err != ErrStreamCut || u.PromptTokens != 60 {
		t.Fatalf("cut stream: %v %+v", err, u)
	}
}
