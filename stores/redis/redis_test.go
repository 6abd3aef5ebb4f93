package redis

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmrouter/caddy-llm-router/internal/redistest"
	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores"
	"github.com/llmrouter/caddy-llm-router/stores/internal/storetest"
)

var prefixes atomic.Int64

// newPrefix returns a key prefix no other test uses.
func newPrefix(t testing.TB) string {
	return "test" + strings.ReplaceAll(t.Name(), "/", "_") + ":" + string(rune('a'+prefixes.Add(1)%26)) + ":"
}

// provision provisions a redis store; instance names its own client and
// fallback, as another Caddy process would have them.
func provision(t testing.TB, r *Redis, instance string, clock *storetest.Clock) *Redis {
	t.Helper()
	r.instance = instance
	if clock != nil {
		r.Now = clock.Now
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := r.Provision(ctx); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	t.Cleanup(func() { _ = r.Cleanup() })
	return r
}

// TestRedisSuite runs the store suite; "two" is two Caddy processes sharing
// one redis-server: two clients, two fallbacks.
func TestRedisSuite(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) [2]stores.Store {
		prefix := newPrefix(t)
		a := provision(t, &Redis{URL: srv.URL, Prefix: prefix}, "a", clock)
		b := provision(t, &Redis{URL: srv.URL, Prefix: prefix}, "b", clock)
		return [2]stores.Store{a, b}
	})
}

// TestRedisRoundTrips: one round trip per Admit, Adjust and Settle.
func TestRedisRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	r := provision(t, &Redis{URL: srv.URL, Prefix: newPrefix(t)}, "", nil)
	l := keys.Limits{Name: "trips", RPM: 1000, TPM: 1_000_000,
		Budgets: []*keys.Budget{keys.NewBudget(100, keys.Daily), keys.NewBudget(1000, keys.Monthly), keys.NewBudget(5000, keys.Total)}}
	ctx := context.Background()
	// The first call loads the script (EVALSHA, NOSCRIPT, EVAL); count after.
	tk, _ := storetest.Admit(t, r, stores.Admission{Key: l, Tokens: 10, Reserve: 0.01})
	storetest.Settle(t, r, tk, 20, 0.005)
	if _, err := r.Adjust(ctx, mustAdmit(t, r, l), 0.02); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		before := r.RoundTrips()
		tk, d := storetest.Admit(t, r, stores.Admission{Key: l, Tokens: 10, Reserve: 0.01})
		if !d.OK {
			t.Fatalf("refused: %+v", d)
		}
		if n := r.RoundTrips() - before; n != 1 {
			t.Fatalf("Admit %d: %d round trips", i, n)
		}
		before = r.RoundTrips()
		if d, err := r.Adjust(ctx, tk, 0.02); err != nil || !d.OK {
			t.Fatalf("Adjust: %+v %v", d, err)
		}
		if n := r.RoundTrips() - before; n != 1 {
			t.Fatalf("Adjust %d: %d round trips", i, n)
		}
		before = r.RoundTrips()
		storetest.Settle(t, r, tk, 20, 0.01)
		if n := r.RoundTrips() - before; n != 1 {
			t.Fatalf("Settle %d: %d round trips", i, n)
		}
	}
}

func mustAdmit(t testing.TB, s stores.Store, l keys.Limits) *stores.Ticket {
	t.Helper()
	tk, d := storetest.Admit(t, s, stores.Admission{Key: l, Reserve: 0.01})
	if !d.OK {
		t.Fatalf("refused: %+v", d)
	}
	return tk
}

// TestRedisLostReply: Redis, not the ticket, knows what a ticket holds, so a
// settlement after an Adjust whose reply was lost still frees everything.
func TestRedisLostReply(t *testing.T) {
	srv := redistest.Start(t)
	r := provision(t, &Redis{URL: srv.URL, Prefix: newPrefix(t)}, "", nil)
	l := keys.Limits{Name: "lost", TPM: 1000, Budgets: []*keys.Budget{keys.NewBudget(1, keys.Daily)}}
	tk, _ := storetest.Admit(t, r, stores.Admission{Key: l, Tokens: 100, Reserve: 0.2})
	if d, err := r.Adjust(context.Background(), tk, 0.6); err != nil || !d.OK {
		t.Fatalf("%+v %v", d, err)
	}
	tk.Reserved = keys.ToNano(0.2) // as if the reply had been lost
	storetest.Settle(t, r, tk, 150, 0.3)
	st := storetest.Status(t, r, l)
	if b := st.Budgets[0]; b.Reserved != 0 || b.Spend != 0.3 || st.Tokens != 150 {
		t.Fatalf("status %+v", st)
	}
}
