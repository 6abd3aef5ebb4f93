package redis

import (
	"context"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/redistest"
	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores"
	"github.com/llmrouter/caddy-llm-router/stores/internal/storetest"
)

// BenchmarkRedisAdmitSettle: one request's Admit and Settle against a real
// redis-server on localhost (two round trips), for a key with rpm, tpm and
// two budgets, from 8×GOMAXPROCS goroutines on one key name.
func BenchmarkRedisAdmitSettle(b *testing.B) {
	srv := redistest.Start(b)
	r := provision(b, &Redis{URL: srv.URL, Prefix: newPrefix(b)}, "", nil)
	l := keys.Limits{Name: "bench", RPM: 1 << 40, TPM: 1 << 50,
		Budgets: []*keys.Budget{keys.NewBudget(keys.MaxBudgetUSD, keys.Daily), keys.NewBudget(keys.MaxBudgetUSD, keys.Total)}}
	a := stores.Admission{Key: l, Tokens: 500, Reserve: 0.01}
	ctx := context.Background()
	storetest.Settle(b, r, mustAdmit(b, r, l), 1, 0) // load the scripts
	trips := r.RoundTrips()
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(8) // many requests in flight, as a busy router has
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tk, d, err := r.Admit(ctx, a)
			if err != nil || !d.OK {
				b.Fatalf("refused: %+v %v", d, err)
			}
			if err := r.Settle(ctx, tk, 800, 0.0001); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(r.RoundTrips()-trips)/float64(b.N), "roundtrips/op")
}
