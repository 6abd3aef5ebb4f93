package llmrouter

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
)

func TestParseConditions(t *testing.T) {
	got, err := parseConditions(strings.Fields("prompt_tokens < 2000 not images tools json not stream prompt_tokens >= 10"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Condition{{Is: condPromptLT, N: 2000}, {Not: true, Is: condImages}, {Is: condTools}, {Is: condJSON}, {Not: true, Is: condStream}, {Is: condPromptGE, N: 10}}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// As `caddy fmt` writes it: no space after `<`.
	fmted, err := parseConditions(strings.Fields("prompt_tokens <2000 not images prompt_tokens >=10"))
	if err != nil || len(fmted) != 3 || fmted[0] != want[0] || fmted[2] != want[5] {
		t.Fatalf("%+v %v", fmted, err)
	}
	for _, bad := range []string{"", "not", "prompt_tokens", "prompt_tokens > 5", "prompt_tokens < x", "prompt_tokens < -1", "prompt_tokens <", "prompt_tokens <x", "vision", "not not images"} {
		if _, err := parseConditions(strings.Fields(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Each condition reads the request as its API sent it.
func TestConditionsHold(t *testing.T) {
	for _, tc := range []struct {
		body, cond string
		want       bool
	}{
		{`{"messages":[{"role":"user","content":"hi"}]}`, "prompt_tokens < 100", true},
		{`{"messages":[{"role":"user","content":"` + strings.Repeat("word ", 400) + `"}]}`, "prompt_tokens < 100", false},
		{`{"messages":[{"role":"user","content":"` + strings.Repeat("word ", 400) + `"}]}`, "prompt_tokens >= 400", true},
		// A big base64 image counts as an image, not as its bytes.
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + strings.Repeat("QUJD", 20000) + `"}}]}]}`, "prompt_tokens < 2000", true},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, "images", true},
		{`{"input":[{"role":"user","content":[{"type":"input_image","image_url":"https://x"}]}]}`, "images", true},
		{`{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x"}}]}]}`, "images", true},
		{`{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png","data":"AAAA"}}]}]}`, "images", true},
		{`{"messages":[{"role":"user","content":"hi"}]}`, "not images", true},
		{`{"messages":[],"tools":[{"type":"function","function":{"name":"f"}}]}`, "tools", true},
		{`{"messages":[],"tools":[]}`, "tools", false},
		{`{"messages":[],"response_format":{"type":"json_schema","json_schema":{}}}`, "json", true},
		{`{"input":"x","text":{"format":{"type":"json_object"}}}`, "json", true},
		{`{"contents":[],"generationConfig":{"responseMimeType":"application/json"}}`, "json", true},
		{`{"messages":[],"response_format":{"type":"text"}}`, "json", false},
	} {
		conds, err := parseConditions(strings.Fields(tc.cond))
		if err != nil {
			t.Fatal(err)
		}
		req := &apis.Request{Body: []byte(tc.body)}
		if got := qualifies(conds, req); got != tc.want {
			t.Errorf("%s on %.80s: %v, want %v", tc.cond, tc.body, got, tc.want)
		}
	}
	if !qualifies([]Condition{{Is: condStream}}, &apis.Request{Stream: true}) || qualifies([]Condition{{Is: condStream, Not: true}}, &apis.Request{Stream: true}) {
		t.Fatal("stream")
	}
}

// The body's `models` list is read and spliced out; the rest stays byte
// for byte.
func TestTakeModels(t *testing.T) {
	for _, tc := range []struct{ body, want, models string }{
		{`{"model":"a","models":["b","c"],"messages":[]}`, `{"model":"a","messages":[]}`, "b,c"},
		{`{"model":"a", "messages":[] , "models" : [ "b" ] }`, `{"model":"a", "messages":[]  }`, "b"},
		{`{"models":["b"],"model":"a"}`, `{"model":"a"}`, "b"},
		{`{"model":"a","messages":[{"content":"\"models\""}]}`, `{"model":"a","messages":[{"content":"\"models\""}]}`, ""},
	} {
		req := &apis.Request{Body: []byte(tc.body)}
		if e := takeModels(req); e != nil {
			t.Fatal(e)
		}
		if string(req.Body) != tc.want || strings.Join(req.Models, ",") != tc.models || !gjson.ValidBytes(req.Body) {
			t.Errorf("%s → %s %v", tc.body, req.Body, req.Models)
		}
	}
	for _, bad := range []string{`{"models":"b"}`, `{"models":[1]}`, `{"models":["x/.."]}`, `{"models":[` + strings.Repeat(`"m",`, 16) + `"m"]}`} {
		if e := takeModels(&apis.Request{Body: []byte(bad)}); e == nil || e.Status != 400 || e.Param != "models" {
			t.Errorf("%s: %v", bad, e)
		}
	}
}

// Through readRequest: a chat body's `models` reaches the request.
func TestReadRequestModels(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{"model":"a","models":["b"],"messages":[]}`))
	req, e := readRequest(r, chatAPI, chatRoute, 1<<20)
	if e != nil {
		t.Fatal(e)
	}
	defer req.release()
	if len(req.Models) != 1 || strings.Contains(string(req.Body), "models") {
		t.Fatalf("%v %s", req.Models, req.Body)
	}
}

// FuzzWhenGrammar: any words after `when` either parse into conditions
// that render back to the same conditions, or are refused; a `to` line
// with them never panics the Caddyfile parser.
func FuzzWhenGrammar(f *testing.F) {
	for _, s := range []string{"prompt_tokens < 10", "not images tools", "json stream", "not", "prompt_tokens >= x", "images not", "prompt_tokens < 99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		conds, err := parseConditions(strings.Fields(s))
		if err == nil {
			var words []string
			for _, c := range conds {
				if c.Not {
					words = append(words, "not")
				}
				switch c.Is {
				case condPromptLT:
					words = append(words, "prompt_tokens", "<", strconv.FormatInt(c.N, 10))
				case condPromptGE:
					words = append(words, "prompt_tokens", ">=", strconv.FormatInt(c.N, 10))
				default:
					words = append(words, c.Is)
				}
				if c.check() != nil {
					t.Fatalf("parsed an invalid condition %+v", c)
				}
			}
			again, err := parseConditions(words)
			if err != nil || len(again) != len(conds) {
				t.Fatalf("%q → %v → %v", s, words, err)
			}
		}
		if strings.ContainsAny(s, "{}\"`\\") {
			return
		}
		// Tokenize first: NewTestDispenser (parse) exits the process on a
		// tokenizer error such as an unfinished heredoc, which the real
		// adapter returns as an error.
		tokens, err := caddyfile.Tokenize([]byte("llm_router {\ntarget a {\n}\nmodel m {\nto a when "+s+"\n}\n}"), "Caddyfile")
		if err != nil {
			return
		}
		_ = new(Handler).UnmarshalCaddyfile(caddyfile.NewDispenser(tokens))
	})
}
