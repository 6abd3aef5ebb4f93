package redis

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llmrouter/caddy-llm-router/internal/redistest"
	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores"
	"github.com/llmrouter/caddy-llm-router/stores/internal/storetest"
)

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// load admits and settles requests from several goroutines until stopped,
// counting what happens.
type load struct {
	admitted, degraded, refused, errs atomic.Int64
	spent                             atomic.Int64 // nano-USD settled
	stop                              chan struct{}
	wg                                sync.WaitGroup
}

func startLoad(s stores.Store, a stores.Admission, workers int) *load {
	l := &load{stop: make(chan struct{})}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				tk, d, err := s.Admit(context.Background(), a)
				switch {
				case err != nil:
					l.errs.Add(1)
					time.Sleep(time.Millisecond)
					continue
				case !d.OK:
					l.refused.Add(1)
					continue
				}
				l.admitted.Add(1)
				if d.Degraded {
					l.degraded.Add(1)
				}
				cost := int64(rand.IntN(1_000_000)) // up to $0.001
				if err := s.Settle(context.Background(), tk, 5, keys.FromNano(cost)); err != nil {
					l.errs.Add(1)
				}
				l.spent.Add(cost)
				time.Sleep(100 * time.Microsecond) // a steady load, not a spin
			}
		}()
	}
	return l
}

func (l *load) halt() { close(l.stop); l.wg.Wait() }

// observe replaces the store's logger with one the test reads.
func observe(r *Redis) *observer.ObservedLogs {
	core, logs := observer.New(zapcore.InfoLevel)
	r.b.logger = zap.New(core)
	return logs
}

// TestRedisFailOpen: Redis killed and restarted under load. Requests go on
// being admitted (in the process) while it is down, without errors, and the
// spend counted meanwhile reaches Redis once it is back.
func TestRedisFailOpen(t *testing.T) {
	srv := redistest.Start(t)
	r := provision(t, &Redis{URL: srv.URL, Prefix: newPrefix(t)}, "", nil)
	logs := observe(r)
	var reported atomic.Int64
	r.NotifyErrors(func(error) { reported.Add(1) })
	l := keys.Limits{Name: "open", RPM: 1_000_000, Budgets: []*keys.Budget{keys.NewBudget(1000, keys.Monthly)}}
	a := stores.Admission{Key: l, Tokens: 5, Reserve: 0.001}

	before := startLoad(r, a, 4)
	eventually(t, 5*time.Second, "requests admitted by Redis", func() bool { return before.admitted.Load() > 50 })
	before.halt()
	if before.degraded.Load() != 0 || before.errs.Load() != 0 {
		t.Fatalf("with Redis up: %d degraded, %d errors", before.degraded.Load(), before.errs.Load())
	}

	srv.Stop() // the spend so far is lost with it: nothing persisted
	ld := startLoad(r, a, 4)
	eventually(t, 5*time.Second, "requests admitted while Redis is down", func() bool { return ld.degraded.Load() > 100 })
	srv.Restart()
	mark := ld.admitted.Load() - ld.degraded.Load()
	eventually(t, 10*time.Second, "requests admitted by Redis again", func() bool {
		return ld.admitted.Load()-ld.degraded.Load() > mark+100
	})
	ld.halt()
	if ld.errs.Load() != 0 {
		t.Fatalf("%d admissions or settlements failed with fail open", ld.errs.Load())
	}
	if reported.Load() == 0 {
		t.Fatal("no error reported to NotifyErrors")
	}
	// Everything settled since the crash is in the restarted Redis once the
	// fallback's spend is handed over.
	want := keys.FromNano(ld.spent.Load())
	var got float64
	eventually(t, 10*time.Second, "the spend counted while down handed over to Redis", func() bool {
		st, err := r.Status(context.Background(), l)
		if err != nil {
			return false
		}
		got = st.Budgets[0].Spend
		return storetestNear(got, want) && storetestNear(st.Budgets[0].Reserved, 0)
	})
	down := logs.FilterMessageSnippet("unreachable").Len()
	if down != 1 {
		t.Errorf("%d logs of the outage, want 1 (at most one per 10s)", down)
	}
	if logs.FilterMessageSnippet("reachable again").Len() != 1 {
		t.Errorf("no log of Redis coming back")
	}
	t.Logf("fail open: %d admitted while Redis was down or coming back, %d by Redis after its restart; spend $%.6f in Redis = $%.6f settled; %d errors reported",
		ld.degraded.Load(), ld.admitted.Load()-ld.degraded.Load(), got, want, reported.Load())
}

// TestRedisFailOpenBudget: while Redis is down, the fallback goes on from
// the spend Redis last reported, so one process cannot spend a whole
// budget again.
func TestRedisFailOpenBudget(t *testing.T) {
	srv := redistest.Start(t)
	r := provision(t, &Redis{URL: srv.URL, Prefix: newPrefix(t)}, "", nil)
	observe(r)
	l := keys.Limits{Name: "budget", Budgets: []*keys.Budget{keys.NewBudget(1, keys.Total)}}
	for range 8 {
		tk := mustAdmit(t, r, keys.Limits{Name: l.Name, Budgets: l.Budgets})
		storetest.Settle(t, r, tk, 1, 0.1)
	}
	// Redis says $0.80 spent; the next admission teaches the store that.
	tk, d := storetest.Admit(t, r, stores.Admission{Key: l, Reserve: 0.1})
	if !d.OK || d.Degraded {
		t.Fatalf("%+v", d)
	}
	srv.Stop()
	storetest.Settle(t, r, tk, 1, 0.1) // kept in the process
	admitted := 0
	for range 20 {
		tk, d := storetest.Admit(t, r, stores.Admission{Key: l, Reserve: 0.1})
		if !d.Degraded {
			t.Fatalf("decision with Redis down: %+v", d)
		}
		if !d.OK {
			continue
		}
		admitted++
		storetest.Settle(t, r, tk, 1, 0.1)
	}
	if admitted != 1 {
		t.Fatalf("with $0.90 spent before the outage, the fallback admitted %d requests of $0.10 against $1.00, want 1", admitted)
	}
}

// TestRedisFailClosed: while Redis is down every admission fails with
// ErrUnavailable; once it is back they are admitted again.
func TestRedisFailClosed(t *testing.T) {
	srv := redistest.Start(t)
	r := provision(t, &Redis{URL: srv.URL, Prefix: newPrefix(t), Fail: "closed"}, "", nil)
	logs := observe(r)
	l := keys.Limits{Name: "closed", RPM: 1_000_000, Budgets: []*keys.Budget{keys.NewBudget(1000, keys.Daily)}}
	a := stores.Admission{Key: l, Tokens: 5, Reserve: 0.001}
	tk := mustAdmit(t, r, l)

	srv.Stop()
	ld := startLoad(r, a, 4)
	eventually(t, 5*time.Second, "refusals while Redis is down", func() bool { return ld.errs.Load() > 100 })
	if _, _, err := r.Admit(context.Background(), a); !errors.Is(err, stores.ErrUnavailable) {
		t.Fatalf("Admit with Redis down: %v, want ErrUnavailable", err)
	}
	if err := r.Settle(context.Background(), tk, 1, 0.5); !errors.Is(err, stores.ErrUnavailable) {
		t.Fatalf("Settle with Redis down: %v, want ErrUnavailable", err)
	}
	if ld.degraded.Load() != 0 {
		t.Fatalf("%d requests admitted by a fail-closed store while Redis was down", ld.degraded.Load())
	}
	srv.Restart()
	mark := ld.admitted.Load()
	eventually(t, 10*time.Second, "admissions once Redis is back", func() bool { return ld.admitted.Load() > mark+100 })
	ld.halt()
	if n := logs.FilterMessageSnippet("fail closed").Len(); n != 1 {
		t.Errorf("%d logs of the outage, want 1", n)
	}
	// The settlement made while down reaches Redis too.
	eventually(t, 10*time.Second, "the spend settled while down handed over", func() bool {
		st, err := r.Status(context.Background(), l)
		return err == nil && st.Budgets[0].Spend >= 0.5
	})
	t.Logf("fail closed: %d ErrUnavailable while down, %d admitted after the restart", ld.errs.Load(), ld.admitted.Load()-mark)
}

// TestRedisNoScript: after SCRIPT FLUSH the scripts are sent again (EVAL).
func TestRedisNoScript(t *testing.T) {
	srv := redistest.Start(t)
	r := provision(t, &Redis{URL: srv.URL, Prefix: newPrefix(t)}, "", nil)
	l := keys.Limits{Name: "noscript", RPM: 10}
	storetest.Settle(t, r, mustAdmit(t, r, l), 1, 0)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer c.Close()
	if err := c.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	storetest.Settle(t, r, mustAdmit(t, r, l), 1, 0)
	if st := storetest.Status(t, r, l); st.Requests != 2 {
		t.Fatalf("status %+v", st)
	}
}

func storetestNear(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
