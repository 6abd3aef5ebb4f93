package routing

import (
	"math/rand/v2"
	"time"
)

// Backoff is the pause before retry number n (0-based) on the same target:
// exponential, min(max, base·2^n), with full jitter.
func Backoff(base, max time.Duration, n int) time.Duration {
	if base <= 0 || max <= 0 {
		return 0
	}
	d := max
	if n < 62 {
		if exp := base << n; exp > 0 && exp < max {
			d = exp
		}
	}
	return rand.N(d + 1)
}
