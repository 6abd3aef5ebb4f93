package stats

import (
	"sync/atomic"
	"time"
)

// Counters of a second, by index into secBucket.v.
const (
	cRequests = iota
	cErrors
	cCacheHits
	cPrompt
	cCompletion
	cCostNano
	cDurationNs
	cTTFBNs
	cTTFBCount
	nCounters
)

// secBucket counts the requests that finished in one second.
type secBucket struct {
	stamp atomic.Int64 // the unix second counted; 0 = never used
	v     [nCounters]atomic.Int64
}

// series is a ring of SeriesSeconds per-second buckets.
type series struct {
	b [SeriesSeconds]secBucket
}

func (s *series) add(sec int64, r *Request, failed bool) {
	b := &s.b[sec%SeriesSeconds]
	if !enter(&b.stamp, sec, b.v[:]) {
		return
	}
	b.v[cRequests].Add(1)
	if failed {
		b.v[cErrors].Add(1)
	}
	if r.CacheHit {
		b.v[cCacheHits].Add(1)
	}
	if r.Usage.PromptTokens > 0 {
		b.v[cPrompt].Add(r.Usage.PromptTokens)
	}
	if r.Usage.CompletionTokens > 0 {
		b.v[cCompletion].Add(r.Usage.CompletionTokens)
	}
	if n := nanoUSD(r.Cost); n > 0 {
		b.v[cCostNano].Add(n)
	}
	if r.Duration > 0 {
		b.v[cDurationNs].Add(int64(r.Duration))
	}
	if r.TTFB > 0 {
		b.v[cTTFBNs].Add(int64(r.TTFB))
		b.v[cTTFBCount].Add(1)
	}
}

// Point is what finished in one second.
type Point struct {
	Requests         int64
	Errors           int64
	CacheHits        int64
	PromptTokens     int64
	CompletionTokens int64
	// Cost is in USD.
	Cost float64
	// Duration sums the durations of the second's requests.
	Duration time.Duration
	// TTFB sums the times to first byte of the TTFBCount requests that
	// had one.
	TTFB      time.Duration
	TTFBCount int64
}

// Series is the per-second history of the last SeriesSeconds seconds.
type Series struct {
	// Start is the unix second of Points[0].
	Start int64
	// Points holds one Point per second, oldest first; the last one is
	// the current, still counting second.
	Points []Point
}

// Series fills s with the last SeriesSeconds seconds, reusing s.Points.
func (rec *Recorder) Series(s *Series) {
	end := rec.now().Unix()
	s.Start = end - SeriesSeconds + 1
	if cap(s.Points) < SeriesSeconds {
		s.Points = make([]Point, SeriesSeconds)
	}
	s.Points = s.Points[:SeriesSeconds]
	for i := range s.Points {
		sec := s.Start + int64(i)
		p := &s.Points[i]
		*p = Point{}
		if sec < 0 {
			continue
		}
		b := &rec.series.b[sec%SeriesSeconds]
		if b.stamp.Load() != sec {
			continue
		}
		p.Requests = b.v[cRequests].Load()
		p.Errors = b.v[cErrors].Load()
		p.CacheHits = b.v[cCacheHits].Load()
		p.PromptTokens = b.v[cPrompt].Load()
		p.CompletionTokens = b.v[cCompletion].Load()
		p.Cost = float64(b.v[cCostNano].Load()) / 1e9
		p.Duration = time.Duration(b.v[cDurationNs].Load())
		p.TTFB = time.Duration(b.v[cTTFBNs].Load())
		p.TTFBCount = b.v[cTTFBCount].Load()
		// A bucket reused for a newer second while it was read: drop it.
		if b.stamp.Load() != sec {
			*p = Point{}
		}
	}
}
