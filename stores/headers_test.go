package stores

import (
	"net/http"
	"testing"
	"time"
)

func TestSetHeaders(t *testing.T) {
	d := Decision{OK: false, Code: CodeRateLimited, RetryAfter: 7 * time.Second,
		Requests:  Window{Limit: 60, Remaining: 0, Reset: 6500 * time.Millisecond},
		Tokens:    Window{Limit: 1000, Remaining: -5, Reset: 0},
		HasBudget: true, BudgetRemaining: 12.3456789012}
	h := http.Header{}
	d.SetHeaders(h)
	want := map[string]string{
		"X-Ratelimit-Limit-Requests":     "60",
		"X-Ratelimit-Remaining-Requests": "0",
		"X-Ratelimit-Reset-Requests":     "7s",
		"X-Ratelimit-Limit-Tokens":       "1000",
		"X-Ratelimit-Remaining-Tokens":   "0",
		"X-Ratelimit-Reset-Tokens":       "0s",
		"X-Llm-Budget-Remaining":         "12.345678901",
		"Retry-After":                    "7",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if len(h) != len(want) {
		t.Errorf("headers %v", h)
	}
	h = http.Header{}
	d = Decision{OK: false, Code: CodeBudgetExceeded, HasBudget: true, BudgetRemaining: -0.5}
	d.SetHeaders(h)
	if h.Get("Retry-After") != "" || h.Get("X-LLM-Budget-Remaining") != "-0.5" || len(h) != 1 {
		t.Errorf("total budget refusal: %v", h)
	}
	for usd, want := range map[float64]string{0: "0", 0.1 + 0.2: "0.3", 1e-9: "0.000000001", 1234567.5: "1234567.5"} {
		if got := FormatUSD(usd); got != want {
			t.Errorf("FormatUSD(%v) = %s, want %s", usd, got, want)
		}
	}
	for d, want := range map[time.Duration]time.Duration{-time.Second: 0, 0: 0, time.Nanosecond: time.Second, time.Second: time.Second, 1001 * time.Millisecond: 2 * time.Second} {
		if got := CeilSeconds(d); got != want {
			t.Errorf("CeilSeconds(%s) = %s", d, got)
		}
	}
}
