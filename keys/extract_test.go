package keys

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestFromRequest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		target  string
		headers map[string]string
		want    string
	}{
		{"openai", "/v1/chat/completions", map[string]string{"Authorization": "Bearer sk-a"}, "sk-a"},
		{"bearer any case", "/v1/chat/completions", map[string]string{"Authorization": "bearer  sk-a "}, "sk-a"},
		{"anthropic", "/v1/messages", map[string]string{"X-Api-Key": "sk-b"}, "sk-b"},
		{"anthropic auth token", "/v1/messages", map[string]string{"Authorization": "Bearer sk-c", "anthropic-version": "2023-06-01"}, "sk-c"},
		{"gemini header", "/v1beta/models/m:generateContent", map[string]string{"x-goog-api-key": "AIza-d"}, "AIza-d"},
		{"gemini query", "/v1beta/models/m:generateContent?alt=sse&key=AIza-e", nil, "AIza-e"},
		{"query escaped", "/v1beta/models/m:generateContent?key=a%2Bb%3D", nil, "a+b="},
		{"query bad escape", "/v1beta/models/m:generateContent?key=%zz&key=ok", nil, "ok"},
		{"query empty", "/v1beta/models/m:generateContent?key=&keys=x", nil, ""},
		{"bearer first", "/x?key=q", map[string]string{"Authorization": "Bearer h", "X-Api-Key": "x"}, "h"},
		{"basic is not a key", "/x", map[string]string{"Authorization": "Basic dXNlcjpwdw=="}, ""},
		{"bare bearer", "/x", map[string]string{"Authorization": "Bearer "}, ""},
		{"none", "/v1/chat/completions", nil, ""},
	} {
		r := httptest.NewRequest(http.MethodPost, tc.target, nil)
		for k, v := range tc.headers {
			r.Header.Set(k, v)
		}
		if got := FromRequest(r); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestFromRequestNoAllocs(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1beta/models/m:generateContent?alt=sse&key=AIza-e", nil)
	if n := testing.AllocsPerRun(100, func() { FromRequest(r) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
