package redact

import (
	"net/http"
	"testing"
)

func TestScrubHeader(t *testing.T) {
	s := New(key, "Bearer abc123")
	h := http.Header{
		"Www-Authenticate": {`Bearer realm="x", error="invalid_token", token="` + key + `"`},
		"Location":         {"https://x.test/cb?token=sk-test%2FAbc%2B9_xyz"},
		"X-Echo":           {"fine", "Bearer abc123"},
		"Content-Type":     {"application/json"},
	}
	if !s.HeaderContains(h) {
		t.Fatal("HeaderContains = false before scrubbing")
	}
	s.ScrubHeader(h)
	want := http.Header{
		"Www-Authenticate": {`Bearer realm="x", error="invalid_token", token="` + Marker + `"`},
		"Location":         {"https://x.test/cb?token=" + Marker},
		"X-Echo":           {"fine", Marker},
		"Content-Type":     {"application/json"},
	}
	for k, vs := range want {
		for i, v := range vs {
			if h[k][i] != v {
				t.Errorf("%s[%d] = %q, want %q", k, i, h[k][i], v)
			}
		}
	}
	if s.HeaderContains(h) {
		t.Error("HeaderContains = true after scrubbing")
	}
	if New().HeaderContains(h) || (*Scrubber)(nil).HeaderContains(h) {
		t.Error("an empty scrubber found a secret")
	}
	(*Scrubber)(nil).ScrubHeader(h) // must not panic
}
