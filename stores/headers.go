package stores

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// The headers' canonical names, so that setting them costs no
// canonicalization.
var (
	windowHeaders = [2][3]string{
		{"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests"},
		{"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens"},
	}
	budgetHeader = http.CanonicalHeaderKey("X-LLM-Budget-Remaining")
)

// SetHeaders writes OpenAI's rate-limit headers for the key's windows
// (`x-ratelimit-limit-requests`, `-remaining-requests`, `-reset-requests`
// when it has an rpm; the `-tokens` ones when it has a tpm), with resets
// as durations such as `12s`, `X-LLM-Budget-Remaining` (USD) when it has a
// budget, and `Retry-After` on a refusal that waiting can cure. Every
// value is cut from one string and one slice backs them all: it runs on
// every keyed answer.
func (d *Decision) SetHeaders(h http.Header) {
	var buf [160]byte
	b := buf[:0]
	var ends [8]int // end of each value in b
	n := 0
	mark := func() { ends[n] = len(b); n++ }
	windows := [2]*Window{&d.Requests, &d.Tokens}
	for _, w := range windows {
		if w.Limit > 0 {
			b = strconv.AppendInt(b, w.Limit, 10)
			mark()
			b = strconv.AppendInt(b, max(w.Remaining, 0), 10)
			mark()
			b = strconv.AppendInt(b, int64(CeilSeconds(w.Reset)/time.Second), 10)
			b = append(b, 's')
			mark()
		}
	}
	if d.HasBudget {
		b = AppendUSD(b, d.BudgetRemaining)
		mark()
	}
	retry := !d.OK && d.RetryAfter > 0
	if retry {
		b = strconv.AppendInt(b, int64(d.RetryAfter/time.Second), 10)
		mark()
	}
	if n == 0 {
		return
	}
	all := string(b)
	vals := make([]string, n)
	start := 0
	for i := 0; i < n; i++ {
		vals[i] = all[start:ends[i]]
		start = ends[i]
	}
	i := 0
	for k, w := range windows {
		if w.Limit > 0 {
			for j := 0; j < 3; j++ {
				h[windowHeaders[k][j]] = vals[i : i+1 : i+1]
				i++
			}
		}
	}
	if d.HasBudget {
		h[budgetHeader] = vals[i : i+1 : i+1]
		i++
	}
	if retry {
		h["Retry-After"] = vals[i : i+1 : i+1]
	}
}

// FormatUSD writes an amount of USD as a plain decimal with at most nine
// decimals (nano-dollars), e.g. `12.5` or `0.000123`.
func FormatUSD(usd float64) string { return string(AppendUSD(nil, usd)) }

// AppendUSD appends usd as FormatUSD writes it.
func AppendUSD(b []byte, usd float64) []byte {
	return strconv.AppendFloat(b, math.Round(usd*1e9)/1e9, 'f', -1, 64)
}

// CeilSeconds rounds d up to whole seconds; negative durations become 0.
func CeilSeconds(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1) / time.Second * time.Second
}
