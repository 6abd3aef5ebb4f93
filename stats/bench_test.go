//go:build unix

package stats

import (
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRecord is the hot path: one finished request, from every core
// at once, spread over a few targets and keys. cpu-ns/op is the process's
// CPU time per Record (user + system), which a loaded machine inflates less
// than the wall time.
func BenchmarkRecord(b *testing.B) {
	rec := NewRecorder(nil)
	reqs := make([]Request, 16)
	for i := range reqs {
		reqs[i] = req("target-"+strconv.Itoa(i%4), 200+300*(i%5/4))
		reqs[i].Key = "key-" + strconv.Itoa(i)
		rec.Record(&reqs[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	before := cpu()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			rec.Record(&reqs[i&15])
			i++
		}
	})
	b.ReportMetric(float64(cpu()-before)/float64(b.N), "cpu-ns/op")
}

// cpu is the process's CPU time so far, in nanoseconds.
func cpu() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkRecordSerial is Record from one goroutine: its cost without
// contention, reading the clock itself or given the time.
func BenchmarkRecordSerial(b *testing.B) {
	rec := NewRecorder(nil)
	r := req("target-0", 200)
	rec.Record(&r)
	b.Run("clock", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec.Record(&r)
		}
	})
	b.Run("at", func(b *testing.B) {
		r := r
		r.At = time.Now()
		b.ReportAllocs()
		for b.Loop() {
			rec.Record(&r)
		}
	})
}

// BenchmarkSeries reads the 15-minute series, as each dashboard poll does.
func BenchmarkSeries(b *testing.B) {
	rec := NewRecorder(nil)
	var s Series
	b.ReportAllocs()
	for b.Loop() {
		rec.Series(&s)
	}
}
