package keys

import (
	"math"
	"sync/atomic"
	"time"
)

// Limits are what a store enforces for one key name: its request and token
// windows and its budgets. The zero value limits nothing (the store still
// counts requests, tokens and spend for the admin API).
type Limits struct {
	// Name is the key's name; stores keep counters per name.
	Name string
	// RPM is the most requests in any 60-second window; 0 = no limit.
	RPM int64
	// TPM is the most tokens in any 60-second window; 0 = no limit.
	TPM int64
	// Budgets cap the spend per period, one per period at most.
	Budgets []*Budget
}

// Budget caps the spend of a key name in one period.
type Budget struct {
	// USD is the cap.
	USD float64
	// Period is the span it covers.
	Period Period

	cur atomic.Pointer[current] // the period last asked for
}

type current struct {
	id         string
	start, end time.Time
}

// NewBudget returns a budget of usd per period.
func NewBudget(usd float64, p Period) *Budget { return &Budget{USD: usd, Period: p} }

// Nano is the cap in nano-dollars (1e-9 USD), the unit stores count in.
func (b *Budget) Nano() int64 { return ToNano(b.USD) }

// Current returns the ID and end of the period that contains now (zero end
// for Total), cached until the period changes so that the hot path does not
// format a date.
func (b *Budget) Current(now time.Time) (id string, end time.Time) {
	c := b.cur.Load()
	if c == nil || now.Before(c.start) || (!c.end.IsZero() && !now.Before(c.end)) {
		c = &current{id: b.Period.ID(now), start: b.Period.Start(now), end: b.Period.End(now)}
		b.cur.Store(c)
	}
	return c.id, c.end
}

// ToNano converts USD to nano-dollars, rounding to the nearest.
func ToNano(usd float64) int64 {
	if !(usd > 0) {
		return 0
	}
	if usd >= math.MaxInt64/1e9 {
		return math.MaxInt64
	}
	return int64(math.Round(usd * 1e9))
}

// FromNano converts nano-dollars to USD.
func FromNano(n int64) float64 { return float64(n) / 1e9 }
