package keys

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// FuzzAuthenticate: whatever a client sends in any of the places a key
// goes, only the configured keys authenticate, as themselves.
func FuzzAuthenticate(f *testing.F) {
	f.Add("Bearer "+aliceKey, "", "", "")
	f.Add("", bobKey, "", "")
	f.Add("", "", carolKey, "alt=sse")
	f.Add("", "", "", "key="+url.QueryEscape(aliceKey))
	f.Add("bearer \t", "\x00", "sha256:", "key=%zz&key=")
	f.Add("Bearer sk-llmr-alice-012345678", "", "", "key")
	f.Fuzz(func(t *testing.T, auth, apiKey, googKey, query string) {
		t.Setenv("LLM_ROUTER_TEST_BOB", bobKey)
		s := testSet(t)
		r := &http.Request{Header: http.Header{}, URL: &url.URL{RawQuery: query}}
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Api-Key", apiKey)
		r.Header.Set("X-Goog-Api-Key", googKey)
		presented := FromRequest(r)
		k, ok := s.Authenticate(presented)
		want := map[string]string{aliceKey: "alice", bobKey: "bob", carolKey: "carol"}[presented]
		if ok != (want != "") || (ok && k.Name != want) {
			t.Fatalf("%q authenticated as %v (%v), want %q", presented, k, ok, want)
		}
	})
}

// FuzzKeyCaddyfile: any `key` block either parses into a valid key or
// fails with the file and line, and never shows its secret.
func FuzzKeyCaddyfile(f *testing.F) {
	for _, body := range []string{
		"name alice\nmodels gpt-* fast\ntargets a b\nrpm 60\ntpm 1000\nbudget 10 daily\nbudget 100 total",
		"name",
		"name a\nbudget 1e9 monthly",
		"name a\nrpm 9223372036854775808",
		"name a\n{\n}",
		"name a\nbudget 5 weekly\nbudget 6 weekly",
		"}\nkey x {",
		"name \"a b\"\nmodels \"\"",
		"import foo",
	} {
		f.Add(body)
	}
	const marker = "SECRETMARKER7f3a"
	f.Fuzz(func(t *testing.T, body string) {
		input := "key sk-" + marker + " {\n" + body + "\n}"
		tokens, err := caddyfile.Tokenize([]byte(input), "Caddyfile")
		if err != nil {
			return
		}
		d := caddyfile.NewDispenser(tokens)
		d.Next()
		c, err := UnmarshalKey(d)
		if err != nil {
			if strings.Contains(err.Error(), marker) && !strings.Contains(body, marker) {
				t.Fatalf("the error shows the secret: %v", err)
			}
			if !strings.Contains(err.Error(), "Caddyfile:") {
				t.Fatalf("no file and line: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed an invalid key: %v", err)
		}
		s, err := NewSet([]KeyConfig{*c})
		if err != nil {
			if strings.Contains(err.Error(), marker) {
				t.Fatalf("the error shows the secret: %v", err)
			}
			return
		}
		if k, ok := s.Authenticate(c.Secret); !ok || k.Name != c.Name {
			t.Fatalf("%+v does not authenticate its own secret", c)
		}
	})
}
