package stats

import (
	"context"
	"sync/atomic"
	"time"
)

// KeyStatus is what the dashboard shows of one client key. It never holds
// the secret.
type KeyStatus struct {
	// Name is the key's name.
	Name string
	// RPM and TPM are the key's limits; 0 when it has none.
	RPM, TPM int64
	// RequestsThisMinute and TokensThisMinute are what the key used in
	// its current 60-second window.
	RequestsThisMinute, TokensThisMinute int64
	// Budgets are the key's budgets, one per period.
	Budgets []BudgetStatus
}

// BudgetStatus is one budget of a key, in USD.
type BudgetStatus struct {
	// Period is daily, weekly, monthly or total.
	Period string
	// Limit is the budget; Spend what the period spent so far; Reserved
	// what requests in flight hold; Remaining what is left for new ones.
	Limit, Spend, Reserved, Remaining float64
}

// DiscoveryStatus is the state of one target's model discovery.
type DiscoveryStatus struct {
	// Target is the target's name.
	Target string
	// Models is how many models the last successful fetch found.
	Models int
	// LastFetch is when the last fetch (successful or not) ended; zero
	// before the first one.
	LastFetch time.Time
	// LastError is the last fetch's error, "" when it succeeded. It must
	// not hold a secret.
	LastError string
}

// KeyReporter lists the keys of every llm_router of the process. It is
// called once per dashboard poll (every second per open page), with the
// poll's context; it returns a fresh slice, which the caller may reorder.
type KeyReporter func(ctx context.Context) []KeyStatus

// DiscoveryReporter lists the discovery state of every target that has
// discovery on; like KeyReporter, a fresh slice per call.
type DiscoveryReporter func() []DiscoveryStatus

var (
	keyReporter       atomic.Pointer[KeyReporter]
	discoveryReporter atomic.Pointer[DiscoveryReporter]
)

// SetKeyReporter installs the function that lists the keys for the
// dashboard, and returns the one it replaces; nil removes it. With no
// reporter, or one that lists no key, the dashboard shows no key table, so
// a reporter may be installed once for the life of the process.
func SetKeyReporter(f func(ctx context.Context) []KeyStatus) (previous func(ctx context.Context) []KeyStatus) {
	var next *KeyReporter
	if f != nil {
		r := KeyReporter(f)
		next = &r
	}
	if old := keyReporter.Swap(next); old != nil {
		return *old
	}
	return nil
}

// SetDiscoveryReporter installs the function that lists the discovery
// state for the dashboard, and returns the one it replaces; nil removes it.
func SetDiscoveryReporter(f func() []DiscoveryStatus) (previous func() []DiscoveryStatus) {
	var next *DiscoveryReporter
	if f != nil {
		r := DiscoveryReporter(f)
		next = &r
	}
	if old := discoveryReporter.Swap(next); old != nil {
		return *old
	}
	return nil
}

// Keys returns what the key reporter lists, and false when none is set.
func Keys(ctx context.Context) ([]KeyStatus, bool) {
	f := keyReporter.Load()
	if f == nil {
		return nil, false
	}
	return (*f)(ctx), true
}

// Discovery returns what the discovery reporter lists, and false when
// none is set.
func Discovery() ([]DiscoveryStatus, bool) {
	f := discoveryReporter.Load()
	if f == nil {
		return nil, false
	}
	return (*f)(), true
}
