package anthropic

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/internal/goldenfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func TestMatch(t *testing.T) {
	for path, op := range map[string]llm.Op{
		"/v1/messages": llm.OpMessages, "/messages": llm.OpMessages,
		"/v1/messages/count_tokens": llm.OpCountTokens, "/messages/count_tokens": llm.OpCountTokens,
	} {
		if rt, ok := (API{}).Match(path); !ok || rt.Op != op {
			t.Errorf("%s: %v %v", path, rt, ok)
		}
	}
	for _, path := range []string{"/v1/chat/completions", "/v1/messages/", "/v2/messages", "/v1/messages/batches"} {
		if _, ok := (API{}).Match(path); ok {
			t.Errorf("%s matched", path)
		}
	}
}

func TestParse(t *testing.T) {
	body := `{"model":"claude-x","max_tokens":100,"stream":true,"metadata":{"user_id":"u-1"},"messages":[]}`
	req, e := parse(t, []byte(body), http.Header{
		"X-Api-Key": {"sk-client"}, "Authorization": {"Bearer other"},
		"Anthropic-Version": {"2023-06-01"}, "Anthropic-Beta": {"a", "b"}, "Cookie": {"x"},
	})
	if e != nil {
		t.Fatal(e)
	}
	if req.Model != "claude-x" || !req.Stream || req.MaxTokens != 100 || req.User != "u-1" || req.ClientKey != "sk-client" ||
		!req.IncludeUsage || req.Op != llm.OpMessages || req.HubOp != llm.OpChat {
		t.Fatalf("%+v", req)
	}
	if len(req.Header) != 2 || req.Header.Get("Anthropic-Version") != "2023-06-01" || strings.Join(req.Header["Anthropic-Beta"], ",") != "a,b" {
		t.Fatalf("header %v", req.Header)
	}
	// Claude Code with ANTHROPIC_AUTH_TOKEN sends a bearer token.
	req, _ = parse(t, []byte(body), http.Header{"Authorization": {"bearer tok-1"}})
	if req.ClientKey != "tok-1" || req.Header != nil {
		t.Fatalf("%q %v", req.ClientKey, req.Header)
	}
	// count_tokens: no max_tokens needed, never streamed, not translated.
	r := httptest.NewRequest(http.MethodPost, "/v1/messages/count_tokens", nil)
	req, e = API{}.Parse(r, []byte(`{"model":"m","stream":true,"messages":[]}`), mustMatch(t, "/v1/messages/count_tokens"))
	if e != nil || req.Op != llm.OpCountTokens || req.HubOp != 0 || req.Stream {
		t.Fatalf("%+v %v", req, e)
	}
}

func mustMatch(t *testing.T, path string) apis.Route {
	t.Helper()
	rt, ok := API{}.Match(path)
	if !ok {
		t.Fatal(path)
	}
	return rt
}

func TestParseErrors(t *testing.T) {
	for body, param := range map[string]string{
		`{"max_tokens":1,"messages":[]}`:                            "model",
		`{"model":1,"max_tokens":1,"messages":[]}`:                  "model",
		`{"model":"a","model":"b","max_tokens":1,"messages":[]}`:    "model",
		`{"model":"","max_tokens":1,"messages":[]}`:                 "model",
		`{"model":"m","messages":[]}`:                               "max_tokens",
		`{"model":"m","max_tokens":1.5,"messages":[]}`:              "max_tokens",
		`{"model":"m","max_tokens":-1,"messages":[]}`:               "max_tokens",
		`{"model":"m","max_tokens":"9","messages":[]}`:              "max_tokens",
		`{"model":"m","max_tokens":1}`:                              "messages",
		`{"model":"m","max_tokens":1,"messages":"hi"}`:              "messages",
		`{"model":"m","max_tokens":1,"messages":[],"stream":"yes"}`: "stream",
	} {
		_, e := parse(t, []byte(body), nil)
		if e == nil || e.Status != 400 || e.Param != param {
			t.Errorf("%s: %+v", body, e)
			continue
		}
		rec := httptest.NewRecorder()
		API{}.WriteError(rec, e)
		if rec.Code != 400 || gjson.Get(rec.Body.String(), "type").Str != "error" ||
			gjson.Get(rec.Body.String(), "error.type").Str != "invalid_request_error" {
			t.Errorf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
}

func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		e    llm.Error
		want string
	}{
		{llm.Error{Status: 401, Code: "invalid_api_key", Message: "bad key"}, "authentication_error"},
		{llm.Error{Status: 403, Code: "model_not_allowed"}, "permission_error"},
		{llm.Error{Status: 404, Code: "model_not_found", Type: "invalid_request_error"}, "not_found_error"},
		{llm.Error{Status: 400, Code: "unsupported", Type: "invalid_request_error"}, "invalid_request_error"},
		{llm.Error{Status: 500, Type: "server_error"}, "api_error"},
		{llm.Error{Status: 500, Type: "overloaded_error", Kind: llm.KindStream}, "overloaded_error"},
		{llm.Error{Status: 404, Code: "not_found"}, "not_found_error"},
		{llm.Error{Status: 405, Code: "method_not_allowed"}, "invalid_request_error"},
		{llm.Error{Status: 413, Code: "request_too_large"}, "request_too_large"},
		{llm.Error{Status: 429, Code: "rate_limited", RetryAfter: 1500 * time.Millisecond}, "rate_limit_error"},
		{llm.Error{Status: 502, Code: "upstream_error", Type: "upstream_error"}, "api_error"},
		{llm.Error{Status: 504, Code: "upstream_timeout", Type: "timeout_error"}, "api_error"},
		{llm.Error{Status: 503, Code: "store_unavailable"}, "overloaded_error"},
		{llm.Error{Status: 529, Type: "overloaded_error"}, "overloaded_error"},
	} {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Length", "3")
		API{}.WriteError(rec, &tc.e)
		body := rec.Body.String()
		if rec.Code != tc.e.Status || gjson.Get(body, "error.type").Str != tc.want || gjson.Get(body, "error.message").Str != tc.e.Message ||
			rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Content-Length") != "" {
			t.Errorf("%+v: %d %s %v", tc.e, rec.Code, body, rec.Header())
		}
		if tc.e.RetryAfter > 0 && rec.Header().Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
		}
	}
	// An Anthropic upstream's body passes unchanged; another format's not.
	up := `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}`
	rec := httptest.NewRecorder()
	API{}.WriteError(rec, &llm.Error{Status: 529, Message: "Overloaded", Body: []byte(up), Format: llm.FormatAnthropic})
	if rec.Code != 529 || rec.Body.String() != up {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	API{}.WriteError(rec, &llm.Error{Status: 400, Message: "bad", Body: []byte(`{"error":{"message":"bad"}}`), Format: llm.FormatOpenAI})
	if rec.Body.String() != `{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}` {
		t.Fatalf("%s", rec.Body)
	}
}

// What the hub cannot express is refused with 400 unsupported naming the
// parameter; malformed turns with 400 invalid_request.
func TestToHubRefusals(t *testing.T) {
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	for body, want := range map[string]string{
		`{"model":"m","max_tokens":1,"tools":[{"type":"web_search_20250305","name":"web_search"}],` + msgs + `}`:                                        "unsupported tools",
		`{"model":"m","max_tokens":1,"tools":[{"type":"bash_20250124","name":"bash"}],` + msgs + `}`:                                                    "unsupported tools",
		`{"model":"m","max_tokens":1,"mcp_servers":[{"type":"url","url":"https://x"}],` + msgs + `}`:                                                    "unsupported mcp_servers",
		`{"model":"m","max_tokens":1,"container":"c1",` + msgs + `}`:                                                                                    "unsupported container",
		`{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"x","name":"web_search","input":{}}]}]}`: "unsupported messages.0.content.0",
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"search_result"}]}]}`:                                                "unsupported messages.0.content.0",
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`:                 "unsupported messages.0.content.0",
		`{"model":"m","max_tokens":1,"messages":[{"role":"tool","content":"x"}]}`:                                                                       "invalid_request messages",
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":5}]}`:                                                                         "invalid_request messages",
	} {
		req, e := parse(t, []byte(body), nil)
		if e != nil {
			t.Fatalf("%s: %v", body, e)
		}
		_, e = API{}.ToHub(req)
		if e == nil || e.Status != 400 || e.Code+" "+e.Param != want {
			t.Errorf("%s: %+v", body, e)
		}
	}
}

func TestCountTokensEstimate(t *testing.T) {
	body := []byte(`{"model":"m","system":"12345678","messages":[{"role":"user","content":[{"type":"text","text":"abcd"},{"type":"image","source":{}},` +
		`{"type":"tool_result","tool_use_id":"toolu_01ABCDEFGHIJKLMNOPQRSTUVWX","content":"efgh"}]},{"role":"assistant","content":"ijkl"}],"tools":[{"name":"ab","description":"cd","input_schema":{}}]}`)
	// text: 8 + 4 + 4 + 4 + (2 + 2 + 2) = 26 bytes → 7 tokens; 2 messages → 8; one image → 1600.
	if n := EstimateTokens(body); n != 7+8+1600 {
		t.Fatalf("estimate %d", n)
	}
	req, _ := API{}.Parse(httptest.NewRequest("POST", "/v1/messages/count_tokens", nil), body, mustMatch(t, "/v1/messages/count_tokens"))
	rec := httptest.NewRecorder()
	if !(API{}).Answer(rec, req) || rec.Code != 200 || rec.Body.String() != `{"input_tokens":1615}` {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	req.Op = llm.OpMessages
	if (API{}).Answer(httptest.NewRecorder(), req) {
		t.Fatal("answered messages locally")
	}
}

// A hub answer that is not one fails the attempt with nothing written, and
// the next attempt starts afresh on the same encoder.
func TestEncoderRetry(t *testing.T) {
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	req := streamReq(t)
	req.Stream = false
	enc := API{}.NewEncoder(w, req)
	enc.Header().Set("Content-Type", "application/json")
	enc.WriteHeader(200)
	_, _ = enc.Write([]byte(`{"choices":[]}`))
	var e *llm.Error
	if err := enc.Finish(); !errors.As(err, &e) || e.Kind != llm.KindInvalid || w.Committed() {
		t.Fatalf("err %v committed %v", err, w.Committed())
	}
	w.ResetAttempt()
	enc.Header().Set("Content-Type", "application/json")
	enc.WriteHeader(200)
	_, _ = enc.Write([]byte(`{"id":"c1","model":"m","choices":[{"message":{"content":"ok"},"finish_reason":"stop"}]}`))
	if err := enc.Finish(); err != nil || gjson.Get(rec.Body.String(), "content.0.text").Str != "ok" {
		t.Fatalf("err %v body %s", err, rec.Body)
	}
	// A streamed request answered with a broken JSON body, then retried
	// by a provider that writes its stream without WriteHeader (gemini's).
	rec = httptest.NewRecorder()
	w = stream.NewWriter(rec)
	enc = API{}.NewEncoder(w, streamReq(t))
	enc.Header().Set("Content-Type", "application/json")
	_, _ = enc.Write([]byte(`{"broken":`))
	if err := enc.Finish(); err == nil || w.Committed() {
		t.Fatalf("err %v", err)
	}
	w.ResetAttempt()
	enc.Header().Set("Content-Type", stream.ContentType)
	_, _ = enc.Write(goldenfile.Read(t, "testdata/stream/text.sse"))
	if err := enc.Finish(); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, rec.Body.Bytes(), false)

	// A stream with no answer at all is a failure too.
	rec = httptest.NewRecorder()
	w = stream.NewWriter(rec)
	enc = API{}.NewEncoder(w, streamReq(t))
	enc.Header().Set("Content-Type", stream.ContentType)
	if _, err := enc.Write([]byte(": ping\n\n")); err != nil || w.Committed() {
		t.Fatal(err)
	}
	if err := enc.Finish(); err == nil || w.Committed() {
		t.Fatalf("err %v", err)
	}
}
