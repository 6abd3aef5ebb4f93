package memory

import (
	"context"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"

	"github.com/llmrouter/caddy-llm-router/stores"
	"github.com/llmrouter/caddy-llm-router/stores/internal/storetest"
)

// provision provisions a memory store on storage in its own pool slot.
func provision(t testing.TB, slot string, storage certmagic.Storage, clock *storetest.Clock) *Memory {
	t.Helper()
	m := &Memory{storage: storage, poolKey: slot}
	if clock != nil {
		m.Now = clock.Now
	}
	if err := m.Provision(testContext(t)); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	return m
}

func testContext(t testing.TB) caddy.Context {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return ctx
}

// TestMemorySuite runs the store suite; "two" is two llm_router blocks of
// one process, which share the counters.
func TestMemorySuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) [2]stores.Store {
		storage := &certmagic.FileStorage{Path: t.TempDir()}
		a := provision(t, t.Name(), storage, clock)
		b := provision(t, t.Name(), storage, clock)
		t.Cleanup(func() {
			_ = a.Cleanup()
			_ = b.Cleanup()
		})
		return [2]stores.Store{a, b}
	})
}
