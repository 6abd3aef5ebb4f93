package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

func TestModuleRegistered(t *testing.T) {
	info, err := caddy.GetModule("http.llm_router.providers.anthropic")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.New().(*Provider); !ok {
		t.Fatalf("module is %T", info.New())
	}
}

func TestConfigureUpstream(t *testing.T) {
	u := &llm.Upstream{}
	if err := (Provider{}).ConfigureUpstream(u); err != nil || u.BaseURL != "https://api.anthropic.com" {
		t.Fatalf("base_url %q, %v", u.BaseURL, err)
	}
	u = &llm.Upstream{BaseURL: "http://127.0.0.1:9/proxy/"}
	if err := (Provider{}).ConfigureUpstream(u); err != nil || u.BaseURL != "http://127.0.0.1:9/proxy" {
		t.Fatalf("base_url %q, %v", u.BaseURL, err)
	}
}

func TestNewRequest(t *testing.T) {
	body := []byte(`{"model":"claude","messages":[{"role":"user","content":"Hi"}],"stream":true}`)
	cases := []struct {
		name       string
		upstream   llm.Upstream
		clientKey  string
		wantKey    string
		wantVer    string
		wantHeader [2]string
	}{
		{"target key", llm.Upstream{BaseURL: "https://api.anthropic.com", APIKey: "sk-ant-target"}, "sk-client", "sk-ant-target", "2023-06-01", [2]string{}},
		{"bring your own key", llm.Upstream{BaseURL: "https://api.anthropic.com"}, "sk-ant-client", "sk-ant-client", "2023-06-01", [2]string{}},
		{"version and headers", llm.Upstream{
			BaseURL: "http://127.0.0.1:1", APIKey: "k", APIVersion: "2024-01-01",
			Header: http.Header{"Anthropic-Beta": {"prompt-caching-2024-07-31"}},
		}, "", "k", "2024-01-01", [2]string{"Anthropic-Beta", "prompt-caching-2024-07-31"}},
	}
	for _, tc := range cases {
		c := callFor(body)
		c.Upstream = &tc.upstream
		c.ClientKey = tc.clientKey
		req, err := (&Provider{}).NewRequest(context.Background(), c)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if req.Method != http.MethodPost || req.URL.String() != tc.upstream.BaseURL+"/v1/messages" {
			t.Errorf("%s: %s %s", tc.name, req.Method, req.URL)
		}
		if got := req.Header.Get("x-api-key"); got != tc.wantKey {
			t.Errorf("%s: x-api-key %q, want %q", tc.name, got, tc.wantKey)
		}
		if req.Header.Get("Authorization") != "" {
			t.Errorf("%s: Authorization sent", tc.name)
		}
		if got := req.Header.Get("anthropic-version"); got != tc.wantVer {
			t.Errorf("%s: anthropic-version %q, want %q", tc.name, got, tc.wantVer)
		}
		if h := tc.wantHeader; h[0] != "" && req.Header.Get(h[0]) != h[1] {
			t.Errorf("%s: %s %q", tc.name, h[0], req.Header.Get(h[0]))
		}
		if req.Header.Get("Content-Type") != "application/json" || req.Header.Get("Accept") != "text/event-stream" {
			t.Errorf("%s: content headers %v", tc.name, req.Header)
		}
		// The body can be read twice (GetBody), for the transport's retries.
		for i := 0; i < 2; i++ {
			rc := req.Body
			if i == 1 {
				if rc, err = req.GetBody(); err != nil {
					t.Fatal(err)
				}
			}
			b, _ := io.ReadAll(rc)
			if !json.Valid(b) || gjson.GetBytes(b, "stream").Raw != "true" || int64(len(b)) != req.ContentLength {
				t.Errorf("%s: body %s", tc.name, b)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name  string
		ep    llm.Op
		body  string
		param string // "" = supported
	}{
		{"plain chat", llm.OpChat, `{"messages":[{"role":"user","content":"x"}]}`, ""},
		{"n=1", llm.OpChat, `{"n":1,"messages":[]}`, ""},
		{"dropped params", llm.OpChat, `{"seed":1,"presence_penalty":1,"frequency_penalty":1,"logit_bias":{"1":2},"logprobs":false,"messages":[]}`, ""},
		{"embeddings", llm.OpEmbeddings, `{"input":"x"}`, "/v1/embeddings"},
		{"completions", llm.OpCompletions, `{"prompt":"x"}`, "/v1/completions"},
		{"n=2", llm.OpChat, `{"n":2,"messages":[]}`, "n"},
		{"logprobs", llm.OpChat, `{"logprobs":true,"messages":[]}`, "logprobs"},
		{"top_logprobs", llm.OpChat, `{"top_logprobs":3,"messages":[]}`, "top_logprobs"},
		{"audio out", llm.OpChat, `{"modalities":["text","audio"],"messages":[]}`, "modalities"},
		{"audio in", llm.OpChat, `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}`, "input_audio"},
		{"file id", llm.OpChat, `{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`, "file"},
		{"pdf data", llm.OpChat, `{"messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"data:application/pdf;base64,AAAA"}}]}]}`, ""},
		{"custom tool", llm.OpChat, `{"tools":[{"type":"custom","custom":{"name":"x"}}],"messages":[]}`, "tools"},
		{"json_schema", llm.OpChat, `{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}},"messages":[]}`, ""},
		{"json_schema with tools", llm.OpChat, `{"response_format":{"type":"json_object"},"tools":[{"type":"function","function":{"name":"f"}}],"messages":[]}`, "response_format"},
		{"unknown format", llm.OpChat, `{"response_format":{"type":"grammar"},"messages":[]}`, "response_format"},
	}
	for _, tc := range cases {
		c := callFor([]byte(tc.body))
		c.Op = tc.ep
		err := (Provider{}).Check(c)
		if tc.param == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		var e *llm.Error
		if !errors.As(err, &e) {
			t.Errorf("%s: %v, want unsupported %s", tc.name, err, tc.param)
			continue
		}
		if e.Status != 400 || e.Code != "unsupported" || e.Param != tc.param ||
			!strings.Contains(e.Message, `"claude"`) || !strings.Contains(e.Message, tc.param) {
			t.Errorf("%s: %+v", tc.name, e)
		}
	}
}

func TestReadError(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		typ, code  string
		message    string
		retryAfter time.Duration
	}{
		{"overloaded", 529, http.Header{"Retry-After": {"2"}},
			`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`,
			"overloaded_error", "overloaded_error", "Overloaded", 2 * time.Second},
		{"rate limit", 429, http.Header{"Retry-After": {"30"}},
			`{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`,
			"rate_limit_error", "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", 30 * time.Second},
		{"invalid request", 400, nil,
			`{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}`,
			"invalid_request_error", "invalid_request_error", "max_tokens: Field required", 0},
		{"auth", 401, nil,
			`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`,
			"authentication_error", "authentication_error", "invalid x-api-key", 0},
		{"not json", 502, nil, "<html>\n<h1>Bad gateway</h1></html>",
			"api_error", "upstream_error", "upstream returned 502 Bad Gateway: <html> <h1>Bad gateway</h1></html>", 0},
		{"empty", 503, nil, "", "api_error", "upstream_error", "upstream returned 503 Service Unavailable", 0},
	}
	for _, tc := range cases {
		resp := &http.Response{StatusCode: tc.status, Header: tc.header}
		if resp.Header == nil {
			resp.Header = http.Header{}
		}
		e := (Provider{}).ReadError(resp, []byte(tc.body), nil)
		if e.Status != tc.status || e.Kind != llm.KindHTTP || e.Type != tc.typ || e.Code != tc.code ||
			e.Message != tc.message || e.RetryAfter != tc.retryAfter {
			t.Errorf("%s: %+v", tc.name, e)
		}
		// An Anthropic-shaped body is kept for Anthropic clients; anything
		// else is not.
		if anthropicShaped := tc.code != "upstream_error"; anthropicShaped {
			if string(e.Body) != tc.body || e.Format != llm.FormatAnthropic {
				t.Errorf("%s: body %q format %q", tc.name, e.Body, e.Format)
			}
		} else if e.Body != nil {
			t.Errorf("%s: body kept: %q", tc.name, e.Body)
		}
		// The client sees the OpenAI shape.
		out := e.AppendJSON(nil)
		if gjson.GetBytes(out, "error.type").Str != tc.typ || gjson.GetBytes(out, "error.message").Str != tc.message {
			t.Errorf("%s: %s", tc.name, out)
		}
	}
}

func TestCaddyfileOption(t *testing.T) {
	parse := func(input string) (*Provider, error) {
		p := new(Provider)
		return p, p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
	}
	p, err := parse("anthropic {\n max_tokens 8192\n}")
	if err != nil || p.DefaultMaxTokens != 8192 {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range []string{"anthropic {\nmax_tokens\n}", "anthropic {\nmax_tokens 0\n}", "anthropic {\nmax_tokens x\n}", "anthropic {\nmax_tokens 1 2\n}", "anthropic {\nresponse hi\n}"} {
		if _, err := parse(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := (&Provider{DefaultMaxTokens: -1}).Validate(); err == nil {
		t.Error("negative default_max_tokens accepted")
	}
	if err := (&Provider{}).Validate(); err != nil {
		t.Error(err)
	}
}
