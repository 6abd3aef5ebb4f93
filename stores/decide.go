package stores

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/llmrouter/caddy-llm-router/keys"
)

// WindowSpan is the span of the rpm and tpm windows.
const WindowSpan = 60 * time.Second

// Outcome is what a Store implementation found while admitting: the state
// of the windows and budgets before the request, and whether it counted
// it. Decide turns it into a Decision, so that every store refuses and
// reports alike.
type Outcome struct {
	// Admitted reports whether the request was counted and reserved.
	Admitted bool
	// Requests is the number of requests in the window before this one.
	Requests int64
	// RequestRetry is how long until the window has room for one more
	// request, when it had none.
	RequestRetry time.Duration
	// RequestReset is how long until the oldest counted request leaves the
	// window; 0 when there was none.
	RequestReset time.Duration
	// Tokens is the tokens in the window before this request: settled ones
	// of the last 60 seconds plus estimates in flight.
	Tokens int64
	// TokenRetry is how long until enough settled tokens leave the window
	// for this request's estimate, when they were too many.
	TokenRetry time.Duration
	// TokenReset is how long until the oldest settled tokens leave the
	// window; 0 when there were none.
	TokenReset time.Duration
	// Used is, per budget of the key, the spend plus the reservations of
	// other tickets, in nano-dollars, before this request.
	Used []int64
}

// NewTicket returns a ticket for an admission with a new process-unique
// ID, its budgets' current periods filled in. For Store implementations.
func NewTicket(a *Admission, now time.Time) *Ticket {
	t := &Ticket{Key: a.Key.Name, ID: newID(), Admitted: now, Tokens: max(a.Tokens, 0),
		Reserved: keys.ToNano(a.Reserve), TTL: a.TTL}
	if t.TTL <= 0 {
		t.TTL = DefaultTTL
	}
	if n := len(a.Key.Budgets); n > 0 {
		t.Budgets = make([]TicketBudget, n)
		for i, b := range a.Key.Budgets {
			id, end := b.Current(now)
			t.Budgets[i] = TicketBudget{Budget: b, Period: id, End: end}
		}
	}
	return t
}

// Decide makes the Decision of an admission from what the store found. t
// is the ticket the store prepared (NewTicket); when o.Admitted it keeps
// the windows for later Adjust decisions. For Store implementations.
func Decide(a *Admission, t *Ticket, o *Outcome, now time.Time) Decision {
	l := &a.Key
	d := Decision{OK: o.Admitted}
	reqs, toks := o.Requests, o.Tokens
	if d.OK {
		reqs++
		toks += t.Tokens
	}
	var retry time.Duration
	never, rate, budget := false, "", ""
	if l.RPM > 0 {
		reset := o.RequestReset
		if reset <= 0 && reqs > 0 {
			reset = WindowSpan
		}
		d.Requests = Window{Limit: l.RPM, Remaining: max(l.RPM-reqs, 0), Reset: reset}
		if !d.OK && o.Requests+1 > l.RPM {
			retry = max(retry, o.RequestRetry)
			rate = fmt.Sprintf("Rate limit reached for key %q: %d requests per minute.", l.Name, l.RPM)
		}
	}
	if l.TPM > 0 {
		reset := o.TokenReset
		if reset <= 0 && toks > 0 {
			reset = WindowSpan
		}
		d.Tokens = Window{Limit: l.TPM, Remaining: max(l.TPM-toks, 0), Reset: reset}
		if !d.OK && !a.Free && o.Tokens+t.Tokens > l.TPM {
			if t.Tokens > l.TPM {
				never = true
				rate = fmt.Sprintf("Request too large for key %q: about %d tokens, above its limit of %d tokens per minute.", l.Name, t.Tokens, l.TPM)
			} else {
				retry = max(retry, o.TokenRetry)
				if rate == "" {
					rate = fmt.Sprintf("Rate limit reached for key %q: %d tokens per minute (%d in use, this request needs about %d).", l.Name, l.TPM, o.Tokens, t.Tokens)
				}
			}
		}
	}
	// A free request is refused by rpm alone: its budgets give only figures.
	d.HasBudget, d.BudgetRemaining, budget = budgets(l, t, o.Used, t.Reserved, d.OK || a.Free, false, now, &retry, &never)
	switch {
	case d.OK:
		t.windows = [2]Window{d.Requests, d.Tokens}
		return d
	case budget != "":
		d.Code, d.Message = CodeBudgetExceeded, budget
	default:
		d.Code, d.Message = CodeRateLimited, rate
		if rate == "" {
			d.Message = fmt.Sprintf("Rate limit reached for key %q.", l.Name)
		}
	}
	if !never {
		d.RetryAfter = max(CeilSeconds(retry), time.Second)
	}
	return d
}

// DecideAdjust makes the Decision of Adjust from whether the store moved
// the reservation to usd nano-dollars and each budget's spend plus other
// tickets' reservations; when ok it sets t.Reserved to usd. The windows are
// the admission's. For Store implementations.
func DecideAdjust(t *Ticket, ok bool, usd int64, used []int64, now time.Time) Decision {
	d := Decision{OK: ok, Requests: t.windows[0], Tokens: t.windows[1]}
	l := &keys.Limits{Name: t.Key}
	var retry time.Duration
	never := false
	var msg string
	d.HasBudget, d.BudgetRemaining, msg = budgets(l, t, used, usd, ok, true, now, &retry, &never)
	if !ok {
		d.Code, d.Message = CodeBudgetExceeded, msg
		if msg == "" {
			d.Message = fmt.Sprintf("Budget exceeded for key %q.", t.Key)
		}
		if !never {
			d.RetryAfter = max(CeilSeconds(retry), time.Second)
		}
	} else {
		t.Reserved = usd
	}
	return d
}

// budgets computes the smallest remainder and, on a refusal, which budget
// refused and until when.
func budgets(l *keys.Limits, t *Ticket, used []int64, reserve int64, ok, adjust bool, now time.Time,
	retry *time.Duration, never *bool) (has bool, remaining float64, msg string) {
	minRem := int64(0)
	for i, tb := range t.Budgets {
		limit := tb.Budget.Nano()
		var u int64
		if i < len(used) {
			u = used[i]
		}
		rem := limit - u
		if ok {
			rem -= reserve
		} else if reserve > rem && (!adjust || reserve > t.Reserved) {
			if tb.End.IsZero() {
				*never = true
			} else {
				*retry = max(*retry, tb.End.Sub(now))
			}
			if msg == "" {
				msg = fmt.Sprintf("Budget exceeded for key %q: $%s left of its %s budget of $%s; this request may cost up to $%s.",
					l.Name, FormatUSD(keys.FromNano(max(rem, 0))), tb.Budget.Period, FormatUSD(tb.Budget.USD), FormatUSD(keys.FromNano(reserve)))
			}
		}
		if i == 0 || rem < minRem {
			minRem = rem
		}
	}
	return len(t.Budgets) > 0, keys.FromNano(minRem), msg
}

// Ticket IDs: a random prefix per process and a counter, unique across the
// processes that share a store.
var (
	idPrefix = func() string {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		return hex.EncodeToString(b[:]) + "."
	}()
	idCounter atomic.Uint64
)

func newID() string {
	return idPrefix + strconv.FormatUint(idCounter.Add(1), 36)
}
