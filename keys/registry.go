package keys

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// The process-wide registry of the key sets that llm_router handlers
// serve, which the admin API and the dashboard read.
var registry = struct {
	sync.Mutex
	byName map[string][]*entry // per key name, in registration order
}{byName: make(map[string][]*entry)}

type entry struct {
	key   *Key
	store StatusSource
	reg   *Registration
}

// Registration is one handler's registration of its keys; Unregister it at
// Cleanup.
type Registration struct {
	once sync.Once
	keys []*Key
}

// Register records that a handler serves set with store. Call it at
// Provision and call Unregister on the result at Cleanup. Registrations are
// counted: a key name stays listed while any registration holds it, so a
// reload (which provisions the new config before cleaning up the old one)
// never drops it, and a name that several llm_router blocks define is
// listed once, with the limits and store of the latest registration.
func Register(set *Set, store StatusSource) *Registration {
	r := &Registration{keys: set.Keys()}
	registry.Lock()
	defer registry.Unlock()
	for _, k := range r.keys {
		registry.byName[k.Name] = append(registry.byName[k.Name], &entry{key: k, store: store, reg: r})
	}
	return r
}

// Unregister removes the registration; further calls do nothing. It is
// safe on a nil Registration (a Provision that failed halfway).
func (r *Registration) Unregister() {
	if r == nil {
		return
	}
	r.once.Do(func() {
		registry.Lock()
		defer registry.Unlock()
		for _, k := range r.keys {
			es := slices.DeleteFunc(registry.byName[k.Name], func(e *entry) bool { return e.reg == r })
			if len(es) == 0 {
				delete(registry.byName, k.Name)
			} else {
				registry.byName[k.Name] = es
			}
		}
	})
}

// KeyReport is what the admin API lists for one key name: never a secret.
type KeyReport struct {
	// Name is the key's name.
	Name string `json:"name"`
	// Models and Targets are what the key may use (none = all).
	Models  []string `json:"models,omitempty"`
	Targets []string `json:"targets,omitempty"`
	// RPM and TPM are its limits (0 = none).
	RPM int64 `json:"rpm,omitempty"`
	TPM int64 `json:"tpm,omitempty"`
	Status
	// Error says why the status could not be read (store unreachable).
	Error string `json:"error,omitempty"`
}

// statusTimeout bounds how long the admin API waits for a store.
const statusTimeout = 3 * time.Second

// Report lists every registered key name, sorted by name, with its limits
// and its store's status.
func Report(ctx context.Context) []KeyReport {
	registry.Lock()
	latest := make([]*entry, 0, len(registry.byName))
	for _, es := range registry.byName {
		latest = append(latest, es[len(es)-1])
	}
	registry.Unlock()
	slices.SortFunc(latest, func(a, b *entry) int { return cmp.Compare(a.key.Name, b.key.Name) })

	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	out := make([]KeyReport, len(latest))
	for i, e := range latest {
		k := e.key
		r := KeyReport{Name: k.Name, Models: k.Models, Targets: k.Targets, RPM: k.Limits.RPM, TPM: k.Limits.TPM}
		if e.store == nil {
			r.Status = EmptyStatus(k.Limits, time.Now())
		} else if st, err := e.store.Status(ctx, k.Limits); err != nil {
			r.Status = EmptyStatus(k.Limits, time.Now())
			r.Error = "store unavailable: " + err.Error()
		} else {
			r.Status = st
		}
		out[i] = r
	}
	return out
}

// EmptyStatus is the status of a key with nothing counted yet: its budgets
// whole.
func EmptyStatus(l Limits, now time.Time) Status {
	st := Status{Budgets: make([]BudgetStatus, len(l.Budgets))}
	for i, b := range l.Budgets {
		st.Budgets[i] = BudgetStatus{Period: b.Period, USD: b.USD, Remaining: b.USD,
			Start: b.Period.Start(now), End: b.Period.End(now)}
	}
	return st
}
