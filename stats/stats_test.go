package stats

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// clock is a settable time for a Recorder.
type clock struct{ sec atomic.Int64 }

func newClock(sec int64) *clock {
	c := &clock{}
	c.sec.Store(sec)
	return c
}

func (c *clock) now() time.Time { return time.Unix(c.sec.Load(), 500e6) }
func (c *clock) set(sec int64)  { c.sec.Store(sec) }

// t0 is an arbitrary start second (2025-01-01T00:00:00Z).
const t0 = 1735689600

func req(target string, status int) Request {
	return Request{
		Target: target, Model: "m", Status: status, Key: "k",
		Usage:    llm.Usage{PromptTokens: 10, CompletionTokens: 5},
		Cost:     0.001,
		Duration: 100 * time.Millisecond,
		TTFB:     20 * time.Millisecond,
	}
}

func (rec *Recorder) record(r Request) { rec.Record(&r) }

func sum(s *Series) Point {
	var t Point
	for _, p := range s.Points {
		t.Requests += p.Requests
		t.Errors += p.Errors
		t.CacheHits += p.CacheHits
		t.PromptTokens += p.PromptTokens
		t.CompletionTokens += p.CompletionTokens
		t.Cost += p.Cost
		t.Duration += p.Duration
		t.TTFB += p.TTFB
		t.TTFBCount += p.TTFBCount
	}
	return t
}

func TestFailed(t *testing.T) {
	for status, want := range map[int]bool{0: true, 200: false, 304: false, 399: false, 400: true, 429: true, 502: true} {
		r := Request{Status: status}
		if got := r.Failed(); got != want {
			t.Errorf("status %d: Failed() = %v, want %v", status, got, want)
		}
	}
}

// The series holds 15 minutes of seconds, the last one being the current;
// a second older than that falls out, and its bucket is cleared when a new
// second reuses it.
func TestSeriesRollover(t *testing.T) {
	c := newClock(t0)
	rec := NewRecorder(c.now)
	for range 3 {
		rec.record(req("a", 200))
	}
	c.set(t0 + 1)
	rec.record(req("a", 200))
	hit := req("a", 502)
	hit.CacheHit = true
	hit.TTFB = 0
	rec.record(hit)

	var s Series
	rec.Series(&s)
	if len(s.Points) != SeriesSeconds || s.Start != t0+1-SeriesSeconds+1 {
		t.Fatalf("series of %d points from %d, want %d from %d", len(s.Points), s.Start, SeriesSeconds, t0+1-SeriesSeconds+1)
	}
	last, prev := s.Points[SeriesSeconds-1], s.Points[SeriesSeconds-2]
	if prev.Requests != 3 || prev.Errors != 0 || prev.PromptTokens != 30 || prev.CompletionTokens != 15 || prev.TTFBCount != 3 || prev.TTFB != 60*time.Millisecond || prev.Duration != 300*time.Millisecond {
		t.Errorf("second t0: %+v", prev)
	}
	if last.Requests != 2 || last.Errors != 1 || last.CacheHits != 1 || last.TTFBCount != 1 {
		t.Errorf("second t0+1: %+v", last)
	}
	if got := sum(&s); got.Requests != 5 || !near(got.Cost, 0.005) {
		t.Errorf("total %+v, want 5 requests costing 0.005", got)
	}

	// t0 is the oldest second still shown at t0+899.
	c.set(t0 + SeriesSeconds - 1)
	rec.Series(&s)
	if s.Points[0].Requests != 3 || s.Points[1].Requests != 2 || sum(&s).Requests != 5 {
		t.Errorf("at t0+899: first points %+v %+v", s.Points[0], s.Points[1])
	}

	// At t0+900 it has fallen out, even before the bucket is reused.
	c.set(t0 + SeriesSeconds)
	rec.Series(&s)
	if got := sum(&s).Requests; got != 2 {
		t.Errorf("at t0+900: %d requests in the series, want 2", got)
	}
	// A request now reuses t0's bucket, which starts from zero.
	rec.record(req("a", 200))
	rec.Series(&s)
	if last := s.Points[SeriesSeconds-1]; last.Requests != 1 || last.PromptTokens != 10 {
		t.Errorf("reused bucket: %+v, want one request", last)
	}
	if got := sum(&s).Requests; got != 3 {
		t.Errorf("at t0+900: %d requests in the series, want 3", got)
	}

	// A request recorded with a time older than its bucket's is dropped
	// rather than counted in the wrong second.
	c.set(t0)
	rec.record(req("a", 200))
	c.set(t0 + SeriesSeconds)
	rec.Series(&s)
	if last := s.Points[SeriesSeconds-1]; last.Requests != 1 {
		t.Errorf("a late request was counted in a newer second: %+v", last)
	}

	// A request's own At decides its second.
	r := req("a", 200)
	r.At = time.Unix(t0+SeriesSeconds-1, 0)
	rec.record(r)
	rec.Series(&s)
	if p := s.Points[SeriesSeconds-2]; p.Requests != 1 {
		t.Errorf("a request with At one second ago: %+v", p)
	}

	// Long after: everything is gone.
	c.set(t0 + 10*SeriesSeconds)
	rec.Series(&s)
	if got := sum(&s); got != (Point{}) {
		t.Errorf("after an idle hour: %+v", got)
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-12 && d > -1e-12 }

// Targets count the last 300 seconds, second by second.
func TestTargetWindow(t *testing.T) {
	c := newClock(t0)
	rec := NewRecorder(c.now)
	rec.record(req("a", 200))
	rec.record(req("a", 500))
	rec.record(req("b", 0))
	c.set(t0 + WindowSeconds - 1)
	rec.record(req("a", 200))
	v := rec.View()
	if got := v.Target("a"); got != (Window{Requests: 3, Errors: 1}) {
		t.Errorf("a at t0+299: %+v", got)
	}
	if got := v.Target("b"); got != (Window{Requests: 1, Errors: 1}) {
		t.Errorf("b at t0+299: %+v", got)
	}
	if got := v.Target("none"); got != (Window{}) {
		t.Errorf("unknown target: %+v", got)
	}
	c.set(t0 + WindowSeconds)
	v = rec.View()
	if got := v.Target("a"); got != (Window{Requests: 1}) {
		t.Errorf("a at t0+300: %+v", got)
	}
	if got := v.Target("b"); got != (Window{}) {
		t.Errorf("b at t0+300: %+v", got)
	}
	// Reusing a bucket clears it.
	rec.record(req("a", 429))
	if got := rec.View().Target("a"); got != (Window{Requests: 2, Errors: 1}) {
		t.Errorf("a after reuse: %+v", got)
	}
}

// Keys count the last 5 minutes in 5-second steps.
func TestKeyWindow(t *testing.T) {
	c := newClock(t0) // a multiple of 5
	rec := NewRecorder(c.now)
	rec.record(req("a", 200))
	c.set(t0 + 4)
	rec.record(req("a", 401))
	r := req("a", 200)
	r.Key = ""
	rec.record(r) // no key: not counted for any
	c.set(t0 + WindowSeconds - 1)
	if got := rec.View().Key("k"); got != (Window{Requests: 2, Errors: 1}) {
		t.Errorf("k at t0+299: %+v", got)
	}
	// The step of t0..t0+4 leaves the window as a whole.
	c.set(t0 + WindowSeconds)
	if got := rec.View().Key("k"); got != (Window{}) {
		t.Errorf("k at t0+300: %+v", got)
	}
	if got := rec.View().Key(""); got != (Window{}) {
		t.Errorf("empty key name: %+v", got)
	}
}

// A name idle for longer than the window and its grace is dropped when a
// new name arrives; it starts afresh when it comes back.
func TestNamesPruned(t *testing.T) {
	c := newClock(t0)
	rec := NewRecorder(c.now)
	rec.record(req("old", 200))
	c.set(t0 + WindowSeconds + pruneGrace)
	rec.record(req("new", 200))
	if _, ok := (*rec.targets.m.Load())["old"]; !ok {
		t.Fatal("old dropped too early")
	}
	c.set(t0 + WindowSeconds + pruneGrace + 1)
	rec.record(req("newer", 200))
	m := *rec.targets.m.Load()
	if _, ok := m["old"]; ok {
		t.Fatal("old still kept after its grace period")
	}
	if len(m) != 2 {
		t.Fatalf("names %v, want new and newer", m)
	}
	rec.record(req("old", 200))
	if got := rec.View().Target("old"); got != (Window{Requests: 1}) {
		t.Errorf("old after its return: %+v", got)
	}
}

// Concurrent writers lose no count, including across second boundaries
// where buckets are being cleared.
func TestRecordConcurrent(t *testing.T) {
	c := newClock(t0)
	rec := NewRecorder(c.now)
	const writers, each = 8, 5000
	// The clock follows the writers' progress: a new second every 50
	// writes of each, so 100 seconds in all, and writers meet at each
	// boundary.
	advance := func(i int) {
		want := int64(t0 + i/50)
		for {
			cur := c.sec.Load()
			if want <= cur || c.sec.CompareAndSwap(cur, want) {
				return
			}
		}
	}
	var wg sync.WaitGroup
	targets := []string{"a", "b", "c", "d"}
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				advance(i)
				status := 200
				if i%10 == 0 {
					status = 503
				}
				r := req(targets[(w+i)%len(targets)], status)
				rec.Record(&r)
			}
		})
	}
	wg.Wait()
	var s Series
	rec.Series(&s)
	got := sum(&s)
	if got.Requests != writers*each || got.Errors != writers*each/10 || got.PromptTokens != 10*writers*each {
		t.Fatalf("series total %+v, want %d requests, %d errors", got, writers*each, writers*each/10)
	}
	if !near(got.Cost/(writers*each), 0.001) {
		t.Errorf("cost %v, want %v", got.Cost, 0.001*writers*each)
	}
	seconds := 0
	for _, p := range s.Points {
		if p.Requests > 0 {
			seconds++
		}
	}
	if seconds < 90 {
		t.Errorf("the writes spanned only %d seconds; the test should cross many", seconds)
	}
	v := rec.View()
	var total Window
	for _, name := range targets {
		w := v.Target(name)
		total.Requests += w.Requests
		total.Errors += w.Errors
	}
	if total != (Window{Requests: writers * each, Errors: writers * each / 10}) {
		t.Errorf("target windows sum to %+v", total)
	}
	if k := v.Key("k"); k != total {
		t.Errorf("key window %+v, want %+v", k, total)
	}
}

// Once a name was seen, recording allocates nothing.
func TestRecordAllocs(t *testing.T) {
	rec := NewRecorder(nil)
	r := req("a", 200)
	rec.Record(&r)
	if n := testing.AllocsPerRun(1000, func() { rec.Record(&r) }); n != 0 {
		t.Errorf("Record allocates %v times", n)
	}
	if n := testing.AllocsPerRun(1000, func() { Record(r) }); n != 0 {
		t.Errorf("package Record allocates %v times", n)
	}
}

func TestReporters(t *testing.T) {
	t.Cleanup(func() { SetKeyReporter(nil); SetDiscoveryReporter(nil) })
	if _, ok := Keys(context.Background()); ok {
		t.Fatal("a key reporter without one set")
	}
	if _, ok := Discovery(); ok {
		t.Fatal("a discovery reporter without one set")
	}
	SetKeyReporter(func(context.Context) []KeyStatus { return []KeyStatus{{Name: "alice"}} })
	SetDiscoveryReporter(func() []DiscoveryStatus { return []DiscoveryStatus{{Target: "a", Models: 3}} })
	if k, ok := Keys(context.Background()); !ok || len(k) != 1 || k[0].Name != "alice" {
		t.Errorf("keys %v %v", k, ok)
	}
	if d, ok := Discovery(); !ok || len(d) != 1 || d[0].Models != 3 {
		t.Errorf("discovery %v %v", d, ok)
	}
	prev := SetKeyReporter(nil)
	if _, ok := Keys(context.Background()); ok {
		t.Error("key reporter still set after SetKeyReporter(nil)")
	}
	if prev == nil || prev(context.Background())[0].Name != "alice" {
		t.Error("SetKeyReporter did not return the reporter it replaced")
	}
	if SetKeyReporter(prev) != nil {
		t.Error("SetKeyReporter returned a reporter after nil")
	}
	if k, _ := Keys(context.Background()); len(k) != 1 {
		t.Error("the restored reporter does not answer")
	}
	if prevD := SetDiscoveryReporter(nil); prevD == nil || prevD()[0].Models != 3 {
		t.Error("SetDiscoveryReporter did not return the reporter it replaced")
	}
}

func TestNanoUSD(t *testing.T) {
	for in, want := range map[float64]int64{0: 0, -1: 0, 1e-9: 1, 0.25: 250_000_000, 1e300: 1<<63 - 1} {
		if got := nanoUSD(in); got != want {
			t.Errorf("nanoUSD(%v) = %d, want %d", in, got, want)
		}
	}
}
