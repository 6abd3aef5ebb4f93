// Package stats keeps process-wide statistics of the requests that every
// llm_router of the process answered, for the dashboard (SPEC 14).
//
// The router calls Record once per finished request. Record is lock-free
// and allocates nothing once a target or key name has been seen: it adds to
// atomic counters in per-second buckets. The dashboard reads
//
//   - Series: per second over the last 15 minutes, requests, errors, cache
//     hits, prompt and completion tokens, cost, summed durations and times
//     to first byte;
//   - Target and Key: the requests and errors of the last 5 minutes of one
//     target or key name.
//
// Readers see each counter's latest value; a snapshot taken while requests
// are recorded may count a request in one field and not yet in another.
//
// The key and discovery tables come from reporters that the packages owning
// that state install with SetKeyReporter and SetDiscoveryReporter.
package stats

import (
	"math"
	"time"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// Request is what the router reports about one finished request.
type Request struct {
	// Target is the name of the target that answered (or last failed).
	Target string
	// Model is the upstream model of that attempt.
	Model string
	// Status is the HTTP status sent to the client; 0 when the client left
	// before any answer.
	Status int
	// Usage is the request's token usage.
	Usage llm.Usage
	// Cost is the request's cost in USD (0 when unpriced or cached).
	Cost float64
	// Duration is the whole request, from its arrival to its last byte.
	Duration time.Duration
	// TTFB is the time to the first byte of the answer; 0 when none came.
	TTFB time.Duration
	// Key is the name of the client's key (never the secret); "" without
	// keys.
	Key string
	// CacheHit is set when the response cache answered.
	CacheHit bool
	// At is when the request finished; zero means now. A caller that has
	// just read the clock (for Duration) passes it to save a second read.
	At time.Time
}

// Failed reports whether the request counts as an error: a status of 400
// or more, or none at all (the client left first).
func (r *Request) Failed() bool { return r.Status >= 400 || r.Status == 0 }

// Spans of the kept history.
const (
	// SeriesSeconds is how far back Series reaches: 15 minutes.
	SeriesSeconds = 15 * 60
	// WindowSeconds is the span of Target and Key: 5 minutes.
	WindowSeconds = 5 * 60
	// keyStep is the bucket width of the per-key windows: keys can be many,
	// so they get 60 buckets of 5 s instead of 300 of 1 s.
	keyStep = 5
)

// Recorder holds the statistics. The zero value is not usable; use
// NewRecorder, or the process-wide one through Record and Default.
type Recorder struct {
	now     func() time.Time
	series  series
	targets names
	keys    names
}

// NewRecorder returns an empty Recorder that reads the time from clock
// (time.Now when nil).
func NewRecorder(clock func() time.Time) *Recorder {
	if clock == nil {
		clock = time.Now
	}
	r := &Recorder{now: clock}
	r.targets.init(1, WindowSeconds)
	r.keys.init(keyStep, WindowSeconds/keyStep)
	return r
}

// std is the process-wide Recorder.
var std = NewRecorder(nil)

// Default returns the process-wide Recorder that Record feeds.
func Default() *Recorder { return std }

// Record adds one finished request to the process-wide statistics. It is
// safe for concurrent use and meant for the hot path.
func Record(r Request) { std.Record(&r) }

// Record adds one finished request. It is safe for concurrent use.
func (rec *Recorder) Record(r *Request) {
	at := r.At
	if at.IsZero() {
		at = rec.now()
	}
	sec := at.Unix()
	failed := r.Failed()
	rec.series.add(sec, r, failed)
	if r.Target != "" {
		rec.targets.add(r.Target, sec, failed)
	}
	if r.Key != "" {
		rec.keys.add(r.Key, sec, failed)
	}
}

// Now is the Recorder's clock.
func (rec *Recorder) Now() time.Time { return rec.now() }

// nanoUSD converts USD to the billionths of a dollar the counters keep.
func nanoUSD(usd float64) int64 {
	if !(usd > 0) { // negative or NaN
		return 0
	}
	if usd >= math.MaxInt64/1e9 {
		return math.MaxInt64
	}
	return int64(math.Round(usd * 1e9))
}
