// Package routing orders a request's candidate targets and keeps what the
// router learns about each target — health, cooldowns, latency, requests in
// flight — in process-wide state that survives config reloads. It knows no
// wire format.
package routing

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// states holds one State per target identity (name + base_url), shared by
// every llm_router handler of every config; reference counting drops a
// target's state once no loaded config uses it any more.
var states = caddy.NewUsagePool()

// StateKey is the identity under which a target's state is kept.
func StateKey(name, baseURL string) string { return name + "\x00" + baseURL }

// AcquireState returns the shared state for key, creating it on first use.
// Every call must be matched by exactly one ReleaseState (in Cleanup).
func AcquireState(key string) *State {
	v, _, _ := states.LoadOrNew(key, func() (caddy.Destructor, error) {
		return &State{}, nil
	})
	return v.(*State)
}

// ReleaseState drops one reference to the state under key.
func ReleaseState(key string) {
	_, _ = states.Delete(key)
}

// StateRefs reports how many loaded handlers reference key (for tests).
func StateRefs(key string) int {
	refs, _ := states.References(key)
	return refs
}

// State is what the router knows about one target. All methods are safe for
// concurrent use.
type State struct {
	failures      atomic.Int64 // consecutive failed attempts
	cooldownUntil atomic.Int64 // unix nanoseconds; 0 = not cooling down
	inFlight      atomic.Int64
	ttfbEWMA      atomic.Int64 // nanoseconds; 0 = never measured
}

// Destruct implements caddy.Destructor; there is nothing to release.
func (*State) Destruct() error { return nil }

// CoolingDown reports whether the target is in cooldown at now.
func (s *State) CoolingDown(now time.Time) bool {
	until := s.cooldownUntil.Load()
	return until != 0 && now.UnixNano() < until
}

// CooldownUntil is the end of the current or last cooldown (zero if none).
func (s *State) CooldownUntil() time.Time {
	if until := s.cooldownUntil.Load(); until != 0 {
		return time.Unix(0, until)
	}
	return time.Time{}
}

// Failure records a failed attempt. Once the last threshold attempts all
// failed, the target cools down for d — extended after each further
// failure, until one succeeds. It reports whether a cooldown started with
// this failure (the target was not cooling down before), so that a burst
// of concurrent failures is logged once.
func (s *State) Failure(threshold int, d time.Duration, now time.Time) bool {
	n := s.failures.Add(1)
	if threshold <= 0 || d <= 0 || n < int64(threshold) {
		return false
	}
	return s.CoolFor(d, now)
}

// CoolFor puts the target in cooldown for d from now (an upstream's long
// Retry-After), unless it already cools down for longer. It reports whether
// a cooldown started (the target was not cooling down at now).
func (s *State) CoolFor(d time.Duration, now time.Time) bool {
	until := now.Add(d).UnixNano()
	for {
		cur := s.cooldownUntil.Load()
		if cur >= until {
			return false
		}
		if s.cooldownUntil.CompareAndSwap(cur, until) {
			return cur <= now.UnixNano()
		}
	}
}

// Success records a successful attempt: the failure count and any cooldown
// are cleared.
func (s *State) Success() {
	if s.failures.Load() != 0 {
		s.failures.Store(0)
	}
	if s.cooldownUntil.Load() != 0 {
		s.cooldownUntil.Store(0)
	}
}

// Healthy reports whether the target is not cooling down at now.
func (s *State) Healthy(now time.Time) bool { return !s.CoolingDown(now) }

// TryAcquire takes one in-flight slot; with max > 0 it fails when max
// requests are already in flight.
func (s *State) TryAcquire(max int) bool {
	if max <= 0 {
		s.inFlight.Add(1)
		return true
	}
	for {
		cur := s.inFlight.Load()
		if cur >= int64(max) {
			return false
		}
		if s.inFlight.CompareAndSwap(cur, cur+1) {
			return true
		}
	}
}

// Release gives back an in-flight slot.
func (s *State) Release() { s.inFlight.Add(-1) }

// InFlight is the number of requests in flight to the target.
func (s *State) InFlight() int64 { return s.inFlight.Load() }

// ewmaWeight is the share of a new sample in the latency average.
const ewmaWeight = 0.2

// ObserveTTFB folds one time-to-first-byte sample into the moving average.
func (s *State) ObserveTTFB(d time.Duration) {
	if d <= 0 {
		d = 1
	}
	for {
		old := s.ttfbEWMA.Load()
		next := int64(d)
		if old != 0 {
			next = int64(float64(old)*(1-ewmaWeight) + float64(d)*ewmaWeight)
		}
		if s.ttfbEWMA.CompareAndSwap(old, next) {
			return
		}
	}
}

// Latency is the moving average of time to first byte; zero when the
// target was never measured.
func (s *State) Latency() time.Duration { return time.Duration(s.ttfbEWMA.Load()) }

// EachState calls f with the target name and state of every target that a
// loaded config uses (for metrics collected at scrape time).
func EachState(f func(name string, s *State)) {
	states.Range(func(key, value any) bool {
		name, _, _ := strings.Cut(key.(string), "\x00")
		f(name, value.(*State))
		return true
	})
}
