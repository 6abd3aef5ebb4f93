//go:build unix

package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/routing"
	"github.com/llmrouter/caddy-llm-router/stats"
)

// BenchmarkStatus answers api/status for 50 targets and 1,000 keys (two
// budgets each) with 15 minutes of traffic in the series. It reports the
// process CPU time per answer (cpu-µs/op: user + system, GC included)
// beside the wall time.
func BenchmarkStatus(b *testing.B) {
	clock := t0
	rec := stats.NewRecorder(func() time.Time { return clock })
	for i := range 50 {
		key := routing.StateKey("bench-target-"+strconv.Itoa(i), "http://upstream-"+strconv.Itoa(i))
		s := routing.AcquireState(key)
		s.ObserveTTFB(time.Duration(100+i) * time.Millisecond)
		if i%10 == 0 {
			s.CoolFor(time.Hour, time.Now())
		}
		b.Cleanup(func() { routing.ReleaseState(key) })
	}
	keys := make([]stats.KeyStatus, 1000)
	for i := range keys {
		keys[i] = stats.KeyStatus{
			Name: "team-" + strconv.Itoa(i), RPM: 600, TPM: 200000,
			RequestsThisMinute: int64(i % 600), TokensThisMinute: int64(i * 97),
			Budgets: []stats.BudgetStatus{
				{Period: "daily", Limit: 25, Spend: 3.14159, Reserved: 0.0421, Remaining: 21.8163},
				{Period: "monthly", Limit: 500, Spend: 123.456, Reserved: 0.0421, Remaining: 376.5019},
			},
		}
	}
	prev := stats.SetKeyReporter(func(context.Context) []stats.KeyStatus { return keys })
	b.Cleanup(func() { stats.SetKeyReporter(prev) })
	// Every second of the last 15 minutes had traffic, on every target,
	// from many keys.
	for sec := range stats.SeriesSeconds {
		clock = t0.Add(time.Duration(sec-stats.SeriesSeconds+1) * time.Second)
		for j := range 3 {
			rec.Record(&stats.Request{
				Target: "bench-target-" + strconv.Itoa((sec+j)%50), Key: keys[(sec*3+j)%1000].Name,
				Status: 200 + 300*(j/2), Usage: llm.Usage{PromptTokens: 1234, CompletionTokens: 321},
				Cost: 0.00412, Duration: 812 * time.Millisecond, TTFB: 231 * time.Millisecond,
			})
		}
	}
	d := &Dashboard{rec: rec}
	r := httptest.NewRequest(http.MethodGet, "/dashboard/api/status", nil)
	w := &discard{h: http.Header{}}
	d.ServeHTTP(w, r, nil)
	size := w.n

	b.ReportAllocs()
	b.ResetTimer()
	before := cpu()
	for b.Loop() {
		w.n = 0
		_ = d.ServeHTTP(w, r, nil)
	}
	b.ReportMetric(float64(cpu()-before)/float64(b.N)/1e3, "cpu-µs/op")
	b.ReportMetric(float64(size), "bytes/answer")
}

// cpu is the process's CPU time so far, in nanoseconds.
func cpu() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// discard is a ResponseWriter that counts what it is given.
type discard struct {
	h http.Header
	n int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
