package stats

import (
	"strconv"
	"testing"
)

// BenchmarkRecord is the hot path: one finished request, from every core
// at once, spread over a few targets and keys.
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
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			rec.Record(&reqs[i&15])
			i++
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
