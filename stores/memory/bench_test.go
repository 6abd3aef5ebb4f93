package memory

import (
	"context"
	"testing"

	"github.com/caddyserver/certmagic"

	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores"
)

// BenchmarkMemoryAdmitSettle: one request's Admit and Settle, for a key
// with rpm, tpm and two budgets: serially, and from parallel goroutines on
// one key name.
func BenchmarkMemoryAdmitSettle(b *testing.B) {
	m := provision(b, b.Name(), &certmagic.FileStorage{Path: b.TempDir()}, nil)
	defer m.Cleanup()
	l := keys.Limits{Name: "bench", RPM: 1 << 40, TPM: 1 << 50,
		Budgets: []*keys.Budget{keys.NewBudget(keys.MaxBudgetUSD, keys.Daily), keys.NewBudget(keys.MaxBudgetUSD, keys.Total)}}
	a := stores.Admission{Key: l, Tokens: 500, Reserve: 0.01}
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tk, d, err := m.Admit(ctx, a)
			if err != nil || !d.OK {
				b.Fatalf("refused: %+v %v", d, err)
			}
			if err := m.Settle(ctx, tk, 800, 0.0001); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				tk, d, err := m.Admit(ctx, a)
				if err != nil || !d.OK {
					b.Fatalf("refused: %+v %v", d, err)
				}
				if err := m.Settle(ctx, tk, 800, 0.0001); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
