package llm

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := http.ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\", "ctl\x00\x1f\n\r\t", "é模型😀", "bad\xffutf8", "\u2028\u2029", "<>&"} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q → %s: %v", s, got, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if back != want {
			t.Errorf("%q → %s → %q", s, got, back)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := mustTime(t, "Sun, 22 Nov 2026 10:00:00 GMT")
	for _, tc := range []struct {
		h    http.Header
		want string
	}{
		{http.Header{"Retry-After": {"3"}}, "3s"},
		{http.Header{"Retry-After": {"0.5"}}, "500ms"},
		{http.Header{"Retry-After": {"Sun, 22 Nov 2026 10:00:07 GMT"}}, "7s"},
		{http.Header{"Retry-After": {"Sun, 22 Nov 2026 09:00:00 GMT"}}, "0s"},
		{http.Header{"Retry-After": {"soon"}}, "0s"},
		{http.Header{"Retry-After-Ms": {"250"}}, "250ms"},
		{http.Header{}, "0s"},
	} {
		if got := ParseRetryAfter(tc.h, now).String(); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.h, got, tc.want)
		}
	}
}
