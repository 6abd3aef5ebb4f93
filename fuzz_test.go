package llmrouter

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// FuzzDecodeAndResolve feeds arbitrary bodies and headers through request
// decoding and model resolution: nothing may panic, an accepted request
// has a model, and every refusal is a 4xx in the OpenAI error shape.
func FuzzDecodeAndResolve(f *testing.F) {
	for _, seed := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"smart","messages":[],"stream":true,"stream_options":{"include_usage":false}}`,
		`{"model":"claude/x","messages":[]}`, `{"model":"[openai]x","messages":[]}`,
		`{"model":"[openai","messages":[]}`, `{"model":"/","messages":[]}`, `{"model":"a","model":"b"}`,
		`{"model":"\u0000","messages":[]}`, `[]`, `{`, `null`, `{"model":1}`, "\xff\xfe",
		// Deep nesting, invalid UTF-8, huge strings, client fallback lists.
		`{"model":"x","messages":` + strings.Repeat("[", 5000), `{"model":"x","messages":[],"a":` + strings.Repeat(`{"b":`, 1200) + `1` + strings.Repeat("}", 1200) + `}`,
		"{\"model\":\"gpt-4o\xff\",\"messages\":[]}", `{"model":"` + strings.Repeat("m", 300) + `","messages":[]}`,
		`{"model":"x","messages":[{"role":"user","content":"` + strings.Repeat("é", 5000) + `"}]}`,
		`{"model":"a","models":["b","openai/c",1],"messages":[]}`, `{"model":"az/..","messages":[]}`,
	} {
		f.Add([]byte(seed), "")
		f.Add([]byte(seed), "openai")
	}
	h := provisioned(f, resolveConfig)
	f.Fuzz(func(t *testing.T, body []byte, target string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
		if target != "" {
			r.Header["X-Llm-Target"] = []string{target}
		}
		req, e := readRequest(r, chatAPI, chatRoute, 1<<16)
		if e != nil {
			checkRefusal(t, e)
			return
		}
		defer req.release()
		if req.Model == "" {
			t.Fatal("accepted a request without a model")
		}
		g, e := h.resolve(req)
		if e != nil {
			checkRefusal(t, e)
			return
		}
		if len(g.members) == 0 {
			t.Fatal("resolved to no candidates")
		}
	})
}

func checkRefusal(t *testing.T, e *llm.Error) {
	t.Helper()
	if e.Status < 400 || e.Status > 499 || e.Code == "" || e.Message == "" {
		t.Fatalf("refusal %+v", e)
	}
	if out := e.AppendJSON(nil); !bytes.HasPrefix(out, []byte(`{"error":{"message":`)) {
		t.Fatalf("shape %s", out)
	}
}
