package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func TestModuleRegistered(t *testing.T) {
	info, err := caddy.GetModule("http.llm_router.providers.gemini")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.New().(*Provider); !ok {
		t.Fatalf("New returns %T", info.New())
	}
}

func TestConfigureUpstream(t *testing.T) {
	u := &llm.Upstream{Name: "g"}
	if err := (Provider{}).ConfigureUpstream(u); err != nil {
		t.Fatal(err)
	}
	if u.BaseURL != DefaultBaseURL || u.APIVersion != "v1beta" {
		t.Fatalf("defaults: %+v", u)
	}
	u = &llm.Upstream{Name: "g", BaseURL: "http://127.0.0.1:1/gem/", APIVersion: "/v1/"}
	_ = (Provider{}).ConfigureUpstream(u)
	if u.BaseURL != "http://127.0.0.1:1/gem" || u.APIVersion != "v1" {
		t.Fatalf("trimmed: %+v", u)
	}
}

func TestNewRequest(t *testing.T) {
	chat := []byte(`{"model":"x","messages":[{"role":"user","content":"hi"}]}`)
	emb := []byte(`{"model":"x","input":"hi"}`)
	tests := []struct {
		name      string
		ep        llm.Op
		body      []byte
		model     string
		stream    bool
		version   string
		targetKey string
		clientKey string
		wantURL   string
		wantKey   string
	}{
		{"chat", llm.OpChat, chat, "gemini-2.0-flash", false, "", "AIza-target", "",
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent", "AIza-target"},
		{"stream", llm.OpChat, chat, "gemini-2.0-flash", true, "v1beta", "AIza-target", "",
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", "AIza-target"},
		{"api_version", llm.OpChat, chat, "models/gemini-pro", false, "v1", "", "client-key",
			"https://generativelanguage.googleapis.com/v1/models/gemini-pro:generateContent", "client-key"},
		{"tuned", llm.OpChat, chat, "tunedModels/my-model-7", false, "", "k1", "",
			"https://generativelanguage.googleapis.com/v1beta/tunedModels/my-model-7:generateContent", "k1"},
		{"escaped", llm.OpChat, chat, "a/../b?key=x", false, "", "k1", "",
			"https://generativelanguage.googleapis.com/v1beta/models/a%2F..%2Fb%3Fkey=x:generateContent", "k1"},
		{"embeddings", llm.OpEmbeddings, emb, "text-embedding-004", true, "", "k1", "client-ignored",
			"https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:batchEmbedContents", "k1"},
		{"no key", llm.OpChat, chat, "m", false, "", "", "",
			"https://generativelanguage.googleapis.com/v1beta/models/m:generateContent", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &llm.Upstream{Name: "g", APIKey: tt.targetKey, APIVersion: tt.version,
				Header: http.Header{"X-Extra": {"1"}}}
			_ = (Provider{}).ConfigureUpstream(u)
			c := &llm.Call{Op: tt.ep, Body: tt.body, Model: tt.model, Stream: tt.stream,
				ClientKey: tt.clientKey, Upstream: u}
			req, err := Provider{}.NewRequest(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != http.MethodPost || req.URL.String() != tt.wantURL {
				t.Fatalf("%s %s, want POST %s", req.Method, req.URL, tt.wantURL)
			}
			if got := req.Header.Get("X-Goog-Api-Key"); got != tt.wantKey {
				t.Errorf("x-goog-api-key %q, want %q", got, tt.wantKey)
			}
			if tt.wantKey != "" && strings.Contains(req.URL.String(), tt.wantKey) {
				t.Errorf("key in URL %s", req.URL)
			}
			if req.Header.Get("Authorization") != "" {
				t.Errorf("Authorization sent: %q", req.Header.Get("Authorization"))
			}
			if req.Header.Get("Content-Type") != "application/json" || req.Header.Get("X-Extra") != "1" {
				t.Errorf("headers %v", req.Header)
			}
			body, _ := io.ReadAll(req.Body)
			if !json.Valid(body) || int64(len(body)) != req.ContentLength {
				t.Fatalf("body %q (length %d)", body, req.ContentLength)
			}
			again, _ := req.GetBody()
			body2, _ := io.ReadAll(again)
			if string(body2) != string(body) {
				t.Errorf("GetBody differs")
			}
		})
	}
}

func TestNewRequestRefusesBadInput(t *testing.T) {
	tests := []struct {
		name, body, param string
		ep                llm.Op
	}{
		{"bad image URL", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, "messages[0].content[0].image_url", llm.OpChat},
		{"bad role", `{"messages":[{"role":"robot","content":"x"}]}`, "messages[0].role", llm.OpChat},
		{"orphan tool result", `{"messages":[{"role":"tool","content":"x"}]}`, "messages[0].tool_call_id", llm.OpChat},
		{"token array", `{"input":[[1,2,3]]}`, "input", llm.OpEmbeddings},
		{"no input", `{"input":[]}`, "input", llm.OpEmbeddings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &llm.Call{Op: tt.ep, Body: []byte(tt.body), Model: "m", Upstream: upstream()}
			_, err := Provider{}.NewRequest(context.Background(), c)
			var e *llm.Error
			if !errors.As(err, &e) || e.Status != 400 || e.Kind != llm.KindHTTP || e.Param != tt.param {
				t.Fatalf("error %#v, want a 400 naming %s", err, tt.param)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		ep    llm.Op
		body  string
		param string // "" = supported
	}{
		{"chat", llm.OpChat, `{"messages":[{"role":"user","content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}],"n":3,"logprobs":false}`, ""},
		{"completions", llm.OpCompletions, `{"prompt":"x"}`, "/completions"},
		{"logprobs", llm.OpChat, `{"messages":[],"logprobs":true}`, "logprobs"},
		{"top_logprobs", llm.OpChat, `{"messages":[],"top_logprobs":2}`, "top_logprobs"},
		{"audio out", llm.OpChat, `{"messages":[],"modalities":["text","audio"],"audio":{"voice":"x"}}`, "modalities"},
		{"custom tool", llm.OpChat, `{"messages":[],"tools":[{"type":"custom","custom":{"name":"x"}}]}`, "tools"},
		{"file id", llm.OpChat, `{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`, "messages[].content[].file"},
		{"unknown part", llm.OpChat, `{"messages":[{"role":"user","content":[{"type":"video","video":{}}]}]}`, "messages[].content[].type"},
		{"embeddings", llm.OpEmbeddings, `{"input":["a","b"],"dimensions":8}`, ""},
		{"token embeddings", llm.OpEmbeddings, `{"input":[1,2,3]}`, "input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &llm.Call{Op: tt.ep, Body: []byte(tt.body), Model: "m", Upstream: upstream()}
			err := Provider{}.Check(c)
			if tt.param == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			var e *llm.Error
			if !errors.As(err, &e) || e.Code != "unsupported" || e.Status != 400 || e.Param != tt.param || !strings.Contains(e.Message, `"gem"`) {
				t.Fatalf("got %#v, want unsupported %s naming the target", err, tt.param)
			}
		})
	}
}

func TestReadError(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		typ, code  string
		param      string
		msg        string
		retryAfter time.Duration
	}{
		{"quota", 429, nil,
			`{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"31s"}]}}`,
			"RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED", "", "You exceeded your current quota.", 31 * time.Second},
		{"header wins", 429, http.Header{"Retry-After": {"2"}},
			`{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"31s"}]}}`,
			"RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED", "", "slow down", 2 * time.Second},
		{"fractional delay", 503, nil,
			`{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}`,
			"UNAVAILABLE", "UNAVAILABLE", "", "The model is overloaded.", 1500 * time.Millisecond},
		{"bad request", 400, nil,
			"{\n  \"error\": {\n    \"code\": 400,\n    \"message\": \"* GenerateContentRequest.contents: contents is not specified\\n\",\n    \"status\": \"INVALID_ARGUMENT\",\n    \"details\": [{\"@type\": \"type.googleapis.com/google.rpc.BadRequest\", \"fieldViolations\": [{\"field\": \"contents\", \"description\": \"x\"}]}]\n  }\n}\n",
			"INVALID_ARGUMENT", "INVALID_ARGUMENT", "contents", "* GenerateContentRequest.contents: contents is not specified\n", 0},
		{"array wrapped", 403, nil,
			`[{"error":{"code":403,"message":"Method doesn't allow unregistered callers.","status":"PERMISSION_DENIED"}}]`,
			"PERMISSION_DENIED", "PERMISSION_DENIED", "", "Method doesn't allow unregistered callers.", 0},
		{"not JSON", 502, nil, "<html>Bad   Gateway</html>",
			"api_error", "upstream_error", "", "upstream returned 502 Bad Gateway: <html>Bad Gateway</html>", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: tt.header}
			if resp.Header == nil {
				resp.Header = http.Header{}
			}
			e := Provider{}.ReadError(resp, []byte(tt.body), chatCall(nil, false, false))
			if e.Status != tt.status || e.Kind != llm.KindHTTP || e.Type != tt.typ || e.Code != tt.code ||
				e.Param != tt.param || e.Message != tt.msg || e.RetryAfter != tt.retryAfter {
				t.Fatalf("got %+v", e)
			}
			// Google's own body is kept for Gemini clients: the object
			// itself (unwrapped from an array), none when it is not one.
			switch {
			case tt.name == "not JSON":
				if e.Body != nil {
					t.Fatalf("body kept: %s", e.Body)
				}
			case e.Format != llm.FormatGemini || !gjson.ValidBytes(e.Body) || !gjson.GetBytes(e.Body, "error").IsObject():
				t.Fatalf("body %q format %q", e.Body, e.Format)
			case tt.name != "array wrapped" && string(e.Body) != strings.TrimSpace(tt.body):
				t.Fatalf("body changed: %q", e.Body)
			}
		})
	}
}

// An error frame before anything was written leaves the response
// uncommitted, so the router can still retry or fall back.
func TestStreamErrorBeforeCommit(t *testing.T) {
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	body := "data: {\"error\":{\"code\":429,\"message\":\"Resource has been exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}\r\n\r\n"
	_, err := Provider{}.WriteResponse(w, sseResponse([]byte(body)), chatCall(nil, true, false))
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindStream || e.Code != "RESOURCE_EXHAUSTED" || e.Status != 429 {
		t.Fatalf("error %#v", err)
	}
	if w.Committed() || rec.Body.Len() != 0 {
		t.Fatalf("committed %v, wrote %q", w.Committed(), rec.Body.String())
	}
}

// A stream body that is not SSE JSON is an unreadable answer, not content.
func TestStreamUnreadable(t *testing.T) {
	rec := httptest.NewRecorder()
	w := stream.NewWriter(rec)
	_, err := Provider{}.WriteResponse(w, sseResponse([]byte("data: not json\n\n")), chatCall(nil, true, false))
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindInvalid || w.Committed() {
		t.Fatalf("error %#v, committed %v", err, w.Committed())
	}
}

// A non-streamed answer that cannot be read is a failure before commit.
func TestResponseUnreadable(t *testing.T) {
	for _, body := range []string{"", "[1,2]", "{bad", `{"error":{"code":500,"message":"boom","status":"INTERNAL"}}`} {
		rec := httptest.NewRecorder()
		w := stream.NewWriter(rec)
		_, err := Provider{}.WriteResponse(w, jsonResponse([]byte(body)), chatCall(nil, false, false))
		var e *llm.Error
		if !errors.As(err, &e) || w.Committed() {
			t.Fatalf("%q: error %#v, committed %v", body, err, w.Committed())
		}
	}
}

func TestToolCallIDRoundTrip(t *testing.T) {
	id := toolCallID("CiQB+/=")
	if !strings.HasPrefix(id, "call_") || signatureOf(id) != "CiQB+/=" {
		t.Fatalf("id %q carries %q", id, signatureOf(id))
	}
	if s := signatureOf(toolCallID("")); s != "" {
		t.Fatalf("no signature expected, got %q", s)
	}
	for _, id := range []string{"call_abc", "toolu_01.x", ""} {
		if s := signatureOf(id); s != "" {
			t.Errorf("%q: signature %q", id, s)
		}
	}
}
