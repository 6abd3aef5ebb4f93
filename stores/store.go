// Package stores keeps the counters of router keys — requests and tokens
// of sliding 60-second windows, spend and reservations per budget period —
// behind one small interface, Store, with two implementations as Caddy
// guest modules: `http.llm_router.stores.memory` (package stores/memory,
// in the process, spend persisted in Caddy's storage) and
// `http.llm_router.stores.redis` (package stores/redis, shared by every
// process that uses the same Redis).
//
// At provision a handler loads the store as a guest module (JSON
// `"store": {"store": "redis", …}`, Caddyfile through
// caddyfile.UnmarshalModule), and when it implements ErrorNotifier
// registers a function that counts store errors.
//
// Per request, a handler calls:
//
//  1. Admit once, before the first attempt, with the key's Limits, the
//     request's estimated prompt tokens and the worst-case cost of the
//     first attempt. An error wrapping ErrUnavailable is 503
//     store_unavailable. A refused Decision (not OK) is the answer: 429
//     with Decision.Code and Message (and Retry-After); there is nothing
//     to settle.
//  2. Adjust before each further attempt (another target, other prices),
//     with what the request may still cost in all: what earlier attempts
//     already cost plus the worst case of the next one. A refused Decision
//     means the attempt may not be made.
//  3. Settle exactly once when the request is over — answered, failed or
//     cancelled — with its real tokens (prompt + completion, 0 if none) and
//     its real cost in all (0 releases the reservation).
//
// Decision.SetHeaders writes the x-ratelimit-*, X-LLM-Budget-Remaining and
// Retry-After headers of the latest Decision. Money is counted in
// nano-dollars (1e-9 USD) as integers, so reservations and settlements add
// up exactly.
package stores

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/llmrouter/caddy-llm-router/keys"
)

// Store counts requests, tokens and spend per key name. Every method is safe
// for concurrent use; Admit and Adjust decide and count atomically, so
// concurrent requests can never together exceed a limit or a budget.
type Store interface {
	// Admit counts one request of a key against its rpm and tpm windows
	// (the tpm one with the request's estimated prompt tokens, as in
	// flight) and reserves a.Reserve USD against every budget of the key:
	// all or nothing, atomically. When the Decision is OK the Ticket must be
	// settled; otherwise it is nil and nothing was counted.
	Admit(ctx context.Context, a Admission) (*Ticket, Decision, error)

	// Adjust changes the ticket's reservation to usd (what the request may
	// still cost in all) before a further attempt, atomically; a larger
	// reservation that does not fit is refused and the old one kept. The
	// reservation's TTL starts again from now. The Decision carries the
	// admission's windows and the budgets as they now are.
	Adjust(ctx context.Context, t *Ticket, usd float64) (Decision, error)

	// Settle ends the ticket: its estimated tokens are replaced by tokens
	// (counted in the token window from now), its reservation by usd of
	// spend in the periods it was admitted in. Exactly once per ticket;
	// later calls return ErrSettled.
	Settle(ctx context.Context, t *Ticket, tokens int64, usd float64) error

	// Status returns the key name's current windows and budgets.
	Status(ctx context.Context, key keys.Limits) (keys.Status, error)
}

// DefaultTTL bounds how long a ticket's reservation and in-flight tokens
// last when it is never settled (its process died mid-request).
const DefaultTTL = time.Hour

// Admission is one request asking to be admitted.
type Admission struct {
	// Key is the limits of the request's key.
	Key keys.Limits
	// Tokens is the request's estimated prompt tokens; they count in the
	// token window while the request is in flight.
	Tokens int64
	// Reserve is the worst-case cost of the first attempt in USD (prompt
	// tokens plus max output tokens at the target's prices); 0 when it has
	// no price.
	Reserve float64
	// TTL is how long the reservation and the in-flight tokens last if the
	// ticket is never settled; give at least the longest the request can
	// take. Default: DefaultTTL.
	TTL time.Duration
	// Free marks a request that spends neither tokens nor money (a
	// response cache hit; Tokens and Reserve are then 0): it counts
	// against rpm, which alone may refuse it. tpm and the budgets are read
	// for the decision's figures but cannot refuse it.
	Free bool
}

// Refusal codes, as the router's errors name them.
const (
	CodeRateLimited    = "rate_limited"
	CodeBudgetExceeded = "budget_exceeded"
)

// Errors of stores.
var (
	// ErrUnavailable: the store cannot be reached and fails closed; the
	// handler answers 503 store_unavailable.
	ErrUnavailable = errors.New("store unavailable")
	// ErrSettled: Settle was called a second time for a ticket.
	ErrSettled = errors.New("ticket already settled")
)

// Decision is the answer to Admit or Adjust.
type Decision struct {
	// OK reports whether the request (or attempt) may go ahead.
	OK bool
	// Code is CodeRateLimited or CodeBudgetExceeded when not OK.
	Code string
	// Message says which limit refused it, for the client; it names the key
	// by name and never holds a secret.
	Message string
	// RetryAfter is, when not OK, the whole seconds until enough of the
	// window has passed, or until the period of an exhausted budget ends; 0
	// when waiting will not help (a `total` budget, a request larger than
	// the tpm limit): then send no Retry-After.
	RetryAfter time.Duration
	// Requests and Tokens are the rpm and tpm windows after this
	// admission, for the x-ratelimit-* headers (Limit 0: no such limit).
	Requests, Tokens Window
	// HasBudget reports whether the key has budgets; BudgetRemaining is then
	// the smallest of their remainders in USD (budget - spend - reserved,
	// this request's reservation included), for X-LLM-Budget-Remaining.
	HasBudget       bool
	BudgetRemaining float64
	// Degraded reports that a fail-open store could not be reached and the
	// decision was taken by its in-process fallback.
	Degraded bool
}

// Window is the state of one rate window.
type Window struct {
	// Limit is the key's rpm or tpm; 0 when it has none.
	Limit int64
	// Remaining is what is left of it in the current 60 seconds.
	Remaining int64
	// Reset is how long until the oldest counted request (or settled
	// tokens) leaves the window, so Remaining grows; 60s for tokens that are
	// only in flight.
	Reset time.Duration
}

// Ticket is an admitted request: what it counted and reserved, so that it
// can be adjusted and settled. The handler reads it; stores fill it.
type Ticket struct {
	// Key is the key's name.
	Key string
	// ID is unique among all tickets of all processes.
	ID string
	// Admitted is when the request was admitted.
	Admitted time.Time
	// Tokens is the estimate counted in flight.
	Tokens int64
	// Reserved is the current reservation in nano-dollars (see
	// ReservedUSD).
	Reserved int64
	// TTL is how long the reservation lasts without Adjust or Settle.
	TTL time.Duration
	// Budgets are the budgets reserved in, with their periods at
	// admission: spend settles into those periods.
	Budgets []TicketBudget
	// Fallback reports that a fail-open store's in-process fallback
	// admitted it.
	Fallback bool

	settled atomic.Bool
	windows [2]Window // the admission's rpm and tpm windows
}

// TicketBudget is one budget a ticket reserved in.
type TicketBudget struct {
	// Budget is the key's budget.
	Budget *keys.Budget
	// Period is the ID of its period at admission.
	Period string
	// End is when that period ends (zero for total).
	End time.Time
}

// RemainingAfter is the smallest budget remainder once the request settles
// at usd, from d, the latest Decision on t (Admit's or Adjust's), whose
// BudgetRemaining counts t's reservation: for `usage_cost`'s
// budget_remaining.
func (t *Ticket) RemainingAfter(d Decision, usd float64) float64 {
	return d.BudgetRemaining + t.ReservedUSD() - usd
}

// ReservedUSD is the current reservation in USD.
func (t *Ticket) ReservedUSD() float64 { return keys.FromNano(t.Reserved) }

// MarkSettled records that the ticket is being settled; it returns false
// when it already was. Store implementations call it first in Settle.
func (t *Ticket) MarkSettled() bool { return t.settled.CompareAndSwap(false, true) }

// ErrorNotifier is implemented by stores whose backend can fail (redis):
// the handler registers, at provision before any request, a function
// called on every failed round trip, to count
// caddy_llm_router_store_errors_total.
type ErrorNotifier interface {
	NotifyErrors(f func(err error))
}

// Interface guards
var _ keys.StatusSource = Store(nil)
