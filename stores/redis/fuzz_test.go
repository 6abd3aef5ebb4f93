package redis

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	_ "github.com/llmrouter/caddy-llm-router/stores/memory"
)

// FuzzStoreCaddyfile: any `store` block parses or fails with the file and
// line; a redis URL's password never shows in an error.
func FuzzStoreCaddyfile(f *testing.F) {
	for _, seed := range []struct {
		name, host, body string
	}{
		{"redis", "cache:6379/2", "prefix a:\nfail closed"},
		{"redis", "cache:6379", "fail open"},
		{"redis", "[::1]:6379?dial_timeout=3s", ""},
		{"redis", "h:1?bogus=1", ""},
		{"redis", "h:notaport", "prefix"},
		{"redis", "h:1/x", "fail\nprefix a b"},
		{"memory", "", ""},
		{"memory", "", "prefix x"},
		{"other", "", ""},
	} {
		f.Add(seed.name, seed.host, seed.body)
	}
	const pw = "PWMARKER91c2"
	f.Fuzz(func(t *testing.T, name, host, body string) {
		input := "store " + name
		if name == "redis" {
			input += " redis://user:" + pw + "@" + host
		}
		input += " {\n" + body + "\n}"
		tokens, err := caddyfile.Tokenize([]byte(input), "Caddyfile")
		if err != nil {
			return
		}
		d := caddyfile.NewDispenser(tokens)
		d.Next()
		if !d.NextArg() {
			return
		}
		_, err = caddyfile.UnmarshalModule(d, "http.llm_router.stores."+d.Val())
		if err == nil {
			return
		}
		if strings.Contains(err.Error(), pw) && !strings.Contains(body, pw) {
			t.Fatalf("the error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "Caddyfile:") && !strings.Contains(err.Error(), "getting module named") {
			t.Fatalf("no file and line: %v", err)
		}
	})
}
