package routing

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func cands(weights ...int) []Candidate {
	out := make([]Candidate, len(weights))
	for i, w := range weights {
		out[i] = Candidate{ID: fmt.Sprintf("m%d", i), Weight: w, Price: -1, State: &State{}}
	}
	return out
}

// firstCounts runs p n times and counts which candidate comes first.
func firstCounts(p Policy, cs []Candidate, req *Request, n int) []int {
	counts := make([]int, len(cs))
	order := make([]int, len(cs))
	for i := 0; i < n; i++ {
		p.Order(cs, req, order)
		counts[order[0]]++
	}
	return counts
}

// checkPermutation fails unless order holds each index once.
func checkPermutation(t *testing.T, order []int) {
	t.Helper()
	seen := make([]bool, len(order))
	for _, i := range order {
		if i < 0 || i >= len(order) || seen[i] {
			t.Fatalf("not a permutation: %v", order)
		}
		seen[i] = true
	}
}

// Weighted shares: with 100,000 draws a share's standard deviation is below
// 0.16 percentage points, so a tolerance of one point is over six sigma.
func TestWeightedShares(t *testing.T) {
	cs := cands(1, 3, 6, 0)
	const n = 100_000
	counts := firstCounts(Weighted{}, cs, &Request{}, n)
	for i, want := range []float64{0.1, 0.3, 0.6, 0} {
		if got := float64(counts[i]) / n; math.Abs(got-want) > 0.01 {
			t.Errorf("member %d first in %.3f of requests, want %.2f ± 0.01", i, got, want)
		}
	}
	order := make([]int, 4)
	for i := 0; i < 1000; i++ {
		Weighted{}.Order(cs, &Request{}, order)
		checkPermutation(t, order)
		if order[3] != 3 {
			t.Fatalf("weight-0 member not last: %v", order)
		}
	}
}

// The second place is also weighted: when the first fails, the next pick
// follows the remaining weights.
func TestWeightedSecondPlace(t *testing.T) {
	cs := cands(1, 1, 2)
	const n = 60_000
	second := make([]int, 3)
	order := make([]int, 3)
	for i := 0; i < n; i++ {
		Weighted{}.Order(cs, &Request{}, order)
		if order[0] == 2 {
			second[order[1]]++
		}
	}
	// Given member 2 first, members 0 and 1 are equally likely second.
	total := second[0] + second[1]
	if share := float64(second[0]) / float64(total); math.Abs(share-0.5) > 0.02 {
		t.Errorf("second place share %.3f, want 0.5 ± 0.02", share)
	}
}

func TestFallbackWrittenOrder(t *testing.T) {
	cs := cands(1, 0, 5, 1)
	order := make([]int, 4)
	Fallback{}.Order(cs, &Request{}, order)
	if fmt.Sprint(order) != "[0 2 3 1]" {
		t.Fatalf("order %v", order)
	}
}

// Latency: the fastest first in about 90% of requests, the others still
// probed; unmeasured members count as fastest.
func TestLatencyPrefersFastestAndExplores(t *testing.T) {
	cs := cands(1, 1, 1)
	cs[0].State.ObserveTTFB(300 * time.Millisecond)
	cs[1].State.ObserveTTFB(50 * time.Millisecond)
	cs[2].State.ObserveTTFB(120 * time.Millisecond)
	const n = 100_000
	counts := firstCounts(Latency{}, cs, &Request{}, n)
	if share := float64(counts[1]) / n; math.Abs(share-0.90) > 0.01 {
		t.Errorf("fastest first in %.3f, want 0.90 ± 0.01", share)
	}
	for i, want := range []float64{0.05, 0, 0.05} {
		if i == 1 {
			continue
		}
		if share := float64(counts[i]) / n; math.Abs(share-want) > 0.01 {
			t.Errorf("member %d explored in %.3f, want %.2f ± 0.01", i, share, want)
		}
	}
	fresh := cands(1, 1)
	fresh[0].State.ObserveTTFB(time.Second)
	zero := 0.0
	order := make([]int, 2)
	Latency{ExplorePercent: &zero}.Order(fresh, &Request{}, order)
	if order[0] != 1 {
		t.Errorf("an unmeasured member should be tried first: %v", order)
	}
}

func TestEWMA(t *testing.T) {
	var s State
	s.ObserveTTFB(100 * time.Millisecond)
	s.ObserveTTFB(200 * time.Millisecond)
	if got := s.Latency(); got != 120*time.Millisecond {
		t.Fatalf("EWMA %v, want 120ms", got)
	}
}

func TestLeastBusy(t *testing.T) {
	cs := cands(1, 1, 1)
	cs[0].State.inFlight.Store(5)
	cs[1].State.inFlight.Store(1)
	cs[2].State.inFlight.Store(3)
	order := make([]int, 3)
	for i := 0; i < 100; i++ {
		LeastBusy{}.Order(cs, &Request{}, order)
		if fmt.Sprint(order) != "[1 2 0]" {
			t.Fatalf("order %v", order)
		}
	}
	// Ties are shared.
	tied := cands(1, 1)
	counts := firstCounts(LeastBusy{}, tied, &Request{}, 10_000)
	if counts[0] < 4000 || counts[1] < 4000 {
		t.Fatalf("tie split %v", counts)
	}
}

func TestCostOrder(t *testing.T) {
	cs := cands(1, 1, 1, 1)
	cs[0].Price = 12.5
	cs[2].Price = 0.75
	cs[3].Price = 3
	order := make([]int, 4)
	Cost{}.Order(cs, &Request{}, order)
	if fmt.Sprint(order) != "[2 3 0 1]" {
		t.Fatalf("order %v", order)
	}
}

// Sticky: each user always lands on the same member; shares follow the
// weights; removing one of four members moves only the users it had.
func TestStickyStableAndMinimalMovement(t *testing.T) {
	cs := cands(1, 1, 1, 1)
	const users = 20_000
	first := make([]int, users)
	order := make([]int, 4)
	counts := make([]int, 4)
	for u := 0; u < users; u++ {
		req := &Request{User: fmt.Sprintf("user-%d", u)}
		Sticky{}.Order(cs, req, order)
		checkPermutation(t, order)
		first[u] = order[0]
		counts[order[0]]++
		for k := 0; k < 3; k++ {
			Sticky{}.Order(cs, req, order)
			if order[0] != first[u] {
				t.Fatalf("user %d moved from %d to %d", u, first[u], order[0])
			}
		}
	}
	// Each share is 0.25; its standard deviation over 20,000 users is 0.3
	// points; two points of tolerance is over six sigma.
	for i, c := range counts {
		if share := float64(c) / users; math.Abs(share-0.25) > 0.02 {
			t.Errorf("member %d has %.3f of users, want 0.25 ± 0.02", i, share)
		}
	}
	// Member 2 leaves the config: its users spread, nobody else moves.
	remaining := []Candidate{cs[0], cs[1], cs[3]}
	order3 := make([]int, 3)
	for u := 0; u < users; u++ {
		Sticky{}.Order(remaining, &Request{User: fmt.Sprintf("user-%d", u)}, order3)
		now := remaining[order3[0]].ID
		if first[u] != 2 && now != cs[first[u]].ID {
			t.Fatalf("user %d moved from %s to %s though its member stayed", u, cs[first[u]].ID, now)
		}
	}
}

func TestStickyWeightsAndKeys(t *testing.T) {
	cs := cands(3, 1)
	order := make([]int, 2)
	counts := make([]int, 2)
	const users = 20_000
	for u := 0; u < users; u++ {
		Sticky{}.Order(cs, &Request{ClientIP: fmt.Sprintf("10.0.%d.%d", u/256, u%256)}, order)
		counts[order[0]]++
	}
	if share := float64(counts[0]) / users; math.Abs(share-0.75) > 0.02 {
		t.Errorf("weight-3 member has %.3f of users, want 0.75 ± 0.02", share)
	}
	r := &Request{User: "", ClientKey: "k", ClientIP: "ip"}
	if r.StickyKey() != "k" {
		t.Error("client key should come before the IP")
	}
	r.User = "u"
	if r.StickyKey() != "u" {
		t.Error("body user should come first")
	}
}

func TestBackoff(t *testing.T) {
	for n := 0; n < 70; n++ {
		for i := 0; i < 50; i++ {
			d := Backoff(200*time.Millisecond, 5*time.Second, n)
			ceil := 200 * time.Millisecond << n
			if n > 10 || ceil > 5*time.Second {
				ceil = 5 * time.Second
			}
			if d < 0 || d > ceil {
				t.Fatalf("retry %d: %v outside [0, %v]", n, d, ceil)
			}
		}
	}
	var sum time.Duration
	for i := 0; i < 10_000; i++ {
		sum += Backoff(time.Second, time.Minute, 0)
	}
	if mean := sum / 10_000; mean < 450*time.Millisecond || mean > 550*time.Millisecond {
		t.Fatalf("full jitter mean %v, want about 500ms", mean)
	}
}

func TestCooldown(t *testing.T) {
	var s State
	t0 := time.Unix(1000, 0)
	for i := 0; i < 2; i++ {
		if s.Failure(3, time.Minute, t0) {
			t.Fatalf("tripped after %d failures", i+1)
		}
	}
	if !s.Failure(3, time.Minute, t0) || !s.CoolingDown(t0.Add(59*time.Second)) || s.CoolingDown(t0.Add(61*time.Second)) {
		t.Fatal("third failure should cool down for a minute")
	}
	// After the cooldown one more failure trips again (the last 3 failed).
	if !s.Failure(3, time.Minute, t0.Add(2*time.Minute)) {
		t.Fatal("a failure right after a cooldown should trip again")
	}
	s.Success()
	if s.CoolingDown(t0.Add(2*time.Minute)) || s.Failure(3, time.Minute, t0) {
		t.Fatal("success should reset")
	}
}

func TestMaxInFlight(t *testing.T) {
	var s State
	for i, want := range []bool{true, true, false} {
		if s.TryAcquire(2) != want {
			t.Fatalf("acquire %d: want %v with a cap of 2", i+1, want)
		}
	}
	s.Release()
	if !s.TryAcquire(2) || s.InFlight() != 2 {
		t.Fatal("release did not free a slot")
	}
}

func TestStatePoolSharedAndDropped(t *testing.T) {
	key := StateKey("t-pool", "http://x")
	a := AcquireState(key)
	b := AcquireState(key)
	if a != b || StateRefs(key) != 2 {
		t.Fatal("same key should share one state")
	}
	ReleaseState(key)
	ReleaseState(key)
	if StateRefs(key) != 0 {
		t.Fatal("state not dropped")
	}
	if c := AcquireState(key); c == a {
		t.Fatal("a dropped target came back with its old state")
	}
	ReleaseState(key)
}
