package stores

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// SetHeaders writes OpenAI's rate-limit headers for the key's windows
// (`x-ratelimit-limit-requests`, `-remaining-requests`, `-reset-requests`
// when it has an rpm; the `-tokens` ones when it has a tpm), with resets
// as durations such as `12s`, `X-LLM-Budget-Remaining` (USD) when it has a
// budget, and `Retry-After` on a refusal that waiting can cure.
func (d *Decision) SetHeaders(h http.Header) {
	if d.Requests.Limit > 0 {
		setWindow(h, "requests", d.Requests)
	}
	if d.Tokens.Limit > 0 {
		setWindow(h, "tokens", d.Tokens)
	}
	if d.HasBudget {
		h.Set("X-LLM-Budget-Remaining", FormatUSD(d.BudgetRemaining))
	}
	if !d.OK && d.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64(d.RetryAfter/time.Second), 10))
	}
}

func setWindow(h http.Header, kind string, w Window) {
	h.Set("x-ratelimit-limit-"+kind, strconv.FormatInt(w.Limit, 10))
	h.Set("x-ratelimit-remaining-"+kind, strconv.FormatInt(max(w.Remaining, 0), 10))
	h.Set("x-ratelimit-reset-"+kind, strconv.FormatInt(int64(CeilSeconds(w.Reset)/time.Second), 10)+"s")
}

// FormatUSD writes an amount of USD as a plain decimal with at most nine
// decimals (nano-dollars), e.g. `12.5` or `0.000123`.
func FormatUSD(usd float64) string {
	return strconv.FormatFloat(math.Round(usd*1e9)/1e9, 'f', -1, 64)
}

// CeilSeconds rounds d up to whole seconds; negative durations become 0.
func CeilSeconds(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1) / time.Second * time.Second
}
