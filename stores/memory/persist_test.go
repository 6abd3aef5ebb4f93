package memory

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/certmagic"

	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores"
	"github.com/llmrouter/caddy-llm-router/stores/internal/storetest"
)

func budgetLimits(name string) keys.Limits {
	return keys.Limits{Name: name, RPM: 100, Budgets: []*keys.Budget{
		keys.NewBudget(10, keys.Daily), keys.NewBudget(100, keys.Total)}}
}

// TestMemoryRestart: the spend survives the last config unloading and a
// new process starting on the same storage; the periods that ended do not
// come back.
func TestMemoryRestart(t *testing.T) {
	storage := &certmagic.FileStorage{Path: t.TempDir()}
	clock := storetest.NewClock(storetest.Start)
	l := budgetLimits("alice")
	m := provision(t, t.Name(), storage, clock)
	for range 3 {
		tk, d := storetest.Admit(t, m, stores.Admission{Key: l, Reserve: 1})
		if !d.OK {
			t.Fatalf("%+v", d)
		}
		storetest.Settle(t, m, tk, 10, 0.75)
	}
	inFlight, _ := storetest.Admit(t, m, stores.Admission{Key: l, Reserve: 1})
	if err := m.Cleanup(); err != nil { // the last user: writes the spend
		t.Fatal(err)
	}
	if !storage.Exists(context.Background(), StorageKey) {
		t.Fatalf("nothing written at %s", StorageKey)
	}

	// A new process: the same storage, a fresh pool slot.
	m2 := provision(t, t.Name()+"/restarted", storage, clock)
	defer m2.Cleanup()
	st := storetest.Status(t, m2, l)
	for i, b := range st.Budgets {
		if !near(b.Spend, 2.25) || !near(b.Reserved, 0) {
			t.Fatalf("budget %d after restart: %+v, want $2.25 spent and the dead process's reservation gone", i, b)
		}
	}
	if st.Requests != 0 {
		t.Fatalf("the rate window is not persisted, yet %d requests", st.Requests)
	}
	_ = inFlight

	// The next day, the daily spend is gone; the total stays.
	clock.Advance(24 * time.Hour)
	if err := m2.Cleanup(); err != nil {
		t.Fatal(err)
	}
	m3 := provision(t, t.Name()+"/tomorrow", storage, clock)
	defer m3.Cleanup()
	st = storetest.Status(t, m3, l)
	if !near(st.Budgets[0].Spend, 0) || !near(st.Budgets[1].Spend, 2.25) {
		t.Fatalf("a day later: %+v", st.Budgets)
	}
}

// TestMemoryPersistsPeriodically: spend reaches the storage while the
// store runs, so a crash loses at most one interval.
func TestMemoryPersistsPeriodically(t *testing.T) {
	old := persistEvery
	persistEvery = 20 * time.Millisecond
	defer func() { persistEvery = old }()
	storage := &certmagic.FileStorage{Path: t.TempDir()}
	m := provision(t, t.Name(), storage, nil)
	defer m.Cleanup()
	l := budgetLimits("bob")
	tk, _ := storetest.Admit(t, m, stores.Admission{Key: l, Reserve: 1})
	storetest.Settle(t, m, tk, 10, 0.5)
	var p persisted
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, err := storage.Load(context.Background(), StorageKey); err == nil {
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			if len(p.Spend) == 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("spend not persisted while running: %+v", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, s := range p.Spend {
		if s.Key != "bob" || s.Nano != 500_000_000 {
			t.Fatalf("persisted %+v", p.Spend)
		}
	}
	// A crash now (no Cleanup): a new process on the storage reads it.
	m2 := provision(t, t.Name()+"/after-crash", storage, nil)
	defer m2.Cleanup()
	if st := storetest.Status(t, m2, l); !near(st.Budgets[1].Spend, 0.5) {
		t.Fatalf("after a crash: %+v", st.Budgets)
	}
}

// TestMemoryReload: a reload provisions the new config before cleaning up
// the old one; the counters carry over and nothing is re-read.
func TestMemoryReload(t *testing.T) {
	storage := &certmagic.FileStorage{Path: t.TempDir()}
	clock := storetest.NewClock(storetest.Start)
	l := keys.Limits{Name: "carol", RPM: 2}
	old := provision(t, t.Name(), storage, clock)
	storetest.Admit(t, old, stores.Admission{Key: l})
	tk, _ := storetest.Admit(t, old, stores.Admission{Key: l})
	next := provision(t, t.Name(), storage, clock)
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	defer next.Cleanup()
	if _, d := storetest.Admit(t, next, stores.Admission{Key: l}); d.OK {
		t.Fatal("the reload forgot the rate window")
	}
	storetest.Settle(t, next, tk, 1, 0) // a ticket of the old config settles in the new one
	if n, _ := pool.References("memory/" + t.Name()); n != 1 {
		t.Fatalf("%d references after the reload, want 1", n)
	}
}

func TestMemoryCorruptStorage(t *testing.T) {
	storage := &certmagic.FileStorage{Path: t.TempDir()}
	if err := storage.Store(context.Background(), StorageKey, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	m := &Memory{storage: storage, poolKey: t.Name()}
	err := m.Provision(testContext(t))
	if err == nil || !strings.Contains(err.Error(), StorageKey) {
		t.Fatalf("corrupt spend file: %v", err)
	}
	if err := m.Cleanup(); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryCaddyfile(t *testing.T) {
	for _, tc := range []struct{ input, err string }{
		{"store memory", ""},
		{"store memory {\n}", ""},
		{"store memory extra", `unexpected argument "extra"`},
		{"store memory {\n\tprefix x\n}", `unrecognized option "prefix"`},
	} {
		d := caddyfile.NewTestDispenser(tc.input)
		d.Next()
		d.NextArg()
		_, err := caddyfile.UnmarshalModule(d, "http.llm_router.stores.memory")
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.input, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "Testfile:")):
			t.Errorf("%q: %v, want %q with file and line", tc.input, err, tc.err)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// TestMemoryWithoutConfig: a context made without a config (as a handler's
// unit test makes one) has no storage; the store works without persisting.
func TestMemoryWithoutConfig(t *testing.T) {
	m := &Memory{poolKey: t.Name()}
	if err := m.Provision(testContext(t)); err != nil {
		t.Fatal(err)
	}
	l := budgetLimits("nostorage")
	tk, _ := storetest.Admit(t, m, stores.Admission{Key: l, Reserve: 1})
	storetest.Settle(t, m, tk, 1, 0.5)
	if st := storetest.Status(t, m, l); !near(st.Budgets[0].Spend, 0.5) {
		t.Fatalf("%+v", st)
	}
	if err := m.Cleanup(); err != nil {
		t.Fatal(err)
	}
}
