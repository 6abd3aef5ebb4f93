package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// chanTicker is a ticker the test drives: a send on c is one tick, and,
// as c is unbuffered, it returns only once the refresher has recorded the
// fetch before and waits again.
type chanTicker struct {
	c       chan time.Time
	stopped atomic.Bool
}

func (t *chanTicker) C() <-chan time.Time { return t.c }
func (t *chanTicker) Stop()               { t.stopped.Store(true) }

// fakeClock is the time the refresher sees.
var fakeClock atomic.Int64

// result is one answer of the fake list function.
type result struct {
	names []string
	err   error
}

// harness replaces the refresher's clock and ticker, and gives a list
// function that answers what the test sends on results.
type harness struct {
	t       *testing.T
	tick    *chanTicker
	results chan result
	calls   atomic.Int64
	ctxDone chan struct{} // closed when a fetch's context ended while waiting
	logs    *observer.ObservedLogs
	logger  *zap.Logger
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, tick: &chanTicker{c: make(chan time.Time)}, results: make(chan result), ctxDone: make(chan struct{}, 16)}
	oldTicker, oldNow := newTicker, now
	newTicker = func(time.Duration) ticker { return h.tick }
	fakeClock.Store(time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	now = func() time.Time { return time.Unix(0, fakeClock.Load()) }
	t.Cleanup(func() { newTicker, now = oldTicker, oldNow })
	core, logs := observer.New(zapcore.InfoLevel)
	h.logs, h.logger = logs, zap.New(core)
	return h
}

func (h *harness) list(ctx context.Context, c *http.Client) ([]string, error) {
	h.calls.Add(1)
	if c == nil {
		return nil, errors.New("no client")
	}
	select {
	case r := <-h.results:
		return r.names, r.err
	case <-ctx.Done():
		h.ctxDone <- struct{}{}
		return nil, ctx.Err()
	}
}

func (h *harness) config(target string) Config {
	return Config{Target: target, Interval: time.Minute, List: h.list, Redact: func(s string) string { return s }}
}

// answer hands the pending fetch its result and ticks, so that when it
// returns the result is recorded and the next fetch is waiting.
func (h *harness) answer(r result) {
	h.t.Helper()
	select {
	case h.results <- r:
	case <-time.After(10 * time.Second):
		h.t.Fatal("no fetch was waiting")
	}
	select {
	case h.tick.c <- time.Time{}:
	case <-time.After(10 * time.Second):
		h.t.Fatal("the refresher did not come back to its ticker")
	}
}

func (h *harness) count(level zapcore.Level, msg string) int {
	return h.logs.FilterLevelExact(level).FilterMessage(msg).Len()
}

const failedMsg = "model discovery failed; keeping the last list"

// The refresher fetches at once, then at every tick; a failure keeps the
// last list; the generation moves only when a list changes; the same
// failure is logged once an hour, a new one at once, a recovery too.
func TestRefresher(t *testing.T) {
	h := newHarness(t)
	const key = "t\x00http://x\x00id-refresher"
	gen0 := Generation()
	s := Acquire(key, h.config("alpha"), h.logger)
	defer Release(key)
	if s.List() != nil {
		t.Fatal("a list before any fetch")
	}
	if st := s.Status(); st.Target != "alpha" || !st.LastFetch.IsZero() || st.LastError != "" {
		t.Fatalf("status before the first fetch %+v", st)
	}

	h.answer(result{names: []string{"m1", "m2"}})
	if l := s.List(); !slices.Equal(l.Names(), []string{"m1", "m2"}) {
		t.Fatalf("list %v", l.Names())
	}
	gen1 := Generation()
	if gen1 == gen0 {
		t.Fatal("the generation did not move with the first list")
	}
	if st := s.Status(); st.Models != 2 || st.LastError != "" || st.LastFetch.IsZero() {
		t.Fatalf("status %+v", st)
	}

	boom := errors.New("GET /v1/models: 500 Internal Server Error")
	h.answer(result{err: boom})
	h.answer(result{err: boom})
	if l := s.List(); l.Len() != 2 {
		t.Fatal("a failed fetch dropped the list")
	}
	if Generation() != gen1 {
		t.Fatal("a failed fetch moved the generation")
	}
	st := s.Status()
	if st.LastError != boom.Error() || st.Failures != 2 || st.Models != 2 {
		t.Fatalf("status after failures %+v", st)
	}
	if n := h.count(zapcore.WarnLevel, failedMsg); n != 1 {
		t.Fatalf("the same failure logged %d times, want once", n)
	}
	fakeClock.Add(int64(time.Hour))
	h.answer(result{err: boom})
	if n := h.count(zapcore.WarnLevel, failedMsg); n != 2 {
		t.Fatalf("a failure lasting an hour logged %d times, want 2", n)
	}
	h.answer(result{err: errors.New("GET /v1/models: 401 Unauthorized")})
	if n := h.count(zapcore.WarnLevel, failedMsg); n != 3 {
		t.Fatalf("a new failure not logged at once (%d)", n)
	}

	h.answer(result{names: []string{"m1", "m2"}})
	if Generation() != gen1 {
		t.Fatal("the same list moved the generation")
	}
	if st := s.Status(); st.LastError != "" || st.Failures != 0 {
		t.Fatalf("status after recovery %+v", st)
	}
	if h.count(zapcore.InfoLevel, "model discovery recovered") != 1 {
		t.Fatal("the recovery was not logged")
	}

	h.answer(result{names: []string{"m3", "m1"}})
	if Generation() == gen1 || !slices.Equal(s.List().Names(), []string{"m3", "m1"}) {
		t.Fatalf("a changed list: generation %d, list %v", Generation(), s.List().Names())
	}
	// Log lines name the target and never the list's contents.
	for _, e := range h.logs.All() {
		if e.ContextMap()["target"] != "alpha" {
			t.Errorf("log line without the target: %v", e.ContextMap())
		}
	}
}

// An error is redacted before it is logged or reported.
func TestRefresherRedacts(t *testing.T) {
	h := newHarness(t)
	const key = "t\x00http://x\x00id-redact"
	cfg := h.config("beta")
	cfg.Redact = func(s string) string { return "[redacted]" }
	s := Acquire(key, cfg, h.logger)
	defer Release(key)
	h.answer(result{err: fmt.Errorf("bad key sk-secret")})
	if st := s.Status(); st.LastError != "[redacted]" {
		t.Fatalf("reported %q", st.LastError)
	}
	if e := h.logs.FilterMessage(failedMsg).All(); len(e) != 1 || e[0].ContextMap()["error"] != "[redacted]" {
		t.Fatalf("logged %v", e)
	}
}

// Two acquisitions of one key share one source and one refresher (one
// fetch); the source stops — a fetch in flight cancelled, nothing
// recorded — only with the last release.
func TestAcquireShares(t *testing.T) {
	h := newHarness(t)
	const key = "t\x00http://x\x00id-shared"
	running0 := Running()
	a := Acquire(key, h.config("gamma"), h.logger)
	b := Acquire(key, h.config("gamma"), zap.NewNop())
	if a != b || Refs(key) != 2 || Running() != running0+1 {
		t.Fatalf("not shared: same %v, refs %d, running %d", a == b, Refs(key), Running()-running0)
	}
	// The first fetch is waiting in list: release one reference.
	waitFor(t, func() bool { return h.calls.Load() == 1 })
	Release(key)
	if Refs(key) != 1 || Running() != running0+1 {
		t.Fatal("one release of two stopped the source")
	}
	select {
	case <-h.ctxDone:
		t.Fatal("the fetch in flight was cancelled while a reference remained")
	default:
	}
	Release(key)
	select {
	case <-h.ctxDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the last release did not cancel the fetch in flight")
	}
	if Running() != running0 || Refs(key) != 0 || !h.tick.stopped.Load() {
		t.Fatalf("after the last release: running %d, refs %d, ticker stopped %v", Running()-running0, Refs(key), h.tick.stopped.Load())
	}
	if st := a.Status(); !st.LastFetch.IsZero() || st.LastError != "" {
		t.Fatalf("a cancelled fetch was recorded: %+v", st)
	}
	if h.calls.Load() != 1 {
		t.Fatalf("%d fetches, want 1", h.calls.Load())
	}
	for _, s := range Report() {
		if s.Target == "gamma" {
			t.Fatal("a released source is still reported")
		}
	}
}

// Report lists every live source.
func TestReport(t *testing.T) {
	h := newHarness(t)
	const key = "t\x00http://x\x00id-report"
	s := Acquire(key, h.config("delta"), h.logger)
	defer Release(key)
	h.answer(result{err: errors.New("GET /v1/models: 503 Service Unavailable")})
	found := false
	for _, r := range Report() {
		if r.Target == "delta" {
			found = true
			if r.LastError != "GET /v1/models: 503 Service Unavailable" || r.LastFetch.IsZero() || r.Models != 0 {
				t.Fatalf("report %+v", r)
			}
		}
	}
	if !found || s.Fetches() < 1 {
		t.Fatalf("found %v, fetches %d", found, s.Fetches())
	}
}

// With the real ticker, fetches follow the interval.
func TestRefresherRealTicker(t *testing.T) {
	var calls atomic.Int64
	const key = "t\x00http://x\x00id-real"
	s := Acquire(key, Config{Target: "eps", Interval: 5 * time.Millisecond, List: func(context.Context, *http.Client) ([]string, error) {
		calls.Add(1)
		return []string{"x"}, nil
	}}, nil)
	waitFor(t, func() bool { return calls.Load() >= 3 })
	Release(key)
	n := calls.Load()
	if s.List().Len() != 1 {
		t.Fatal("no list")
	}
	// Stopped: Release waited for the refresher, so no fetch starts after it.
	if calls.Load() != n {
		t.Fatal("a fetch after the last release")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
