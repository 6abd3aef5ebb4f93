package storetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores"
)

// Factory returns two stores over the same counters (two llm_router blocks,
// or two Caddy processes sharing one Redis), reading the given clock, with
// counters of their own apart from any other call's.
type Factory func(t *testing.T, clock *Clock) [2]stores.Store

// Start is the clock's start in the tests: a Wednesday, mid-morning UTC.
var Start = time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC)

// Run runs the whole suite.
func Run(t *testing.T, f Factory) {
	for _, two := range []bool{false, true} {
		name := "one"
		if two {
			name = "two"
		}
		t.Run("BudgetConcurrency/"+name, func(t *testing.T) { testBudgetConcurrency(t, f, two) })
		t.Run("RPMConcurrency/"+name, func(t *testing.T) { testRPMConcurrency(t, f, two) })
		t.Run("TPMConcurrency/"+name, func(t *testing.T) { testTPMConcurrency(t, f, two) })
	}
	t.Run("SlidingWindow", func(t *testing.T) { testSlidingWindow(t, f) })
	t.Run("TokenWindow", func(t *testing.T) { testTokenWindow(t, f) })
	t.Run("TooLarge", func(t *testing.T) { testTooLarge(t, f) })
	t.Run("Adjust", func(t *testing.T) { testAdjust(t, f) })
	t.Run("Expiry", func(t *testing.T) { testExpiry(t, f) })
	t.Run("PeriodRollover", func(t *testing.T) { testPeriodRollover(t, f) })
	t.Run("TotalBudget", func(t *testing.T) { testTotalBudget(t, f) })
	t.Run("SettleOnce", func(t *testing.T) { testSettleOnce(t, f) })
	t.Run("Unlimited", func(t *testing.T) { testUnlimited(t, f) })
	t.Run("Free", func(t *testing.T) { testFree(t, f) })
}

func limits(name string, rpm, tpm int64, budgets ...*keys.Budget) keys.Limits {
	return keys.Limits{Name: name, RPM: rpm, TPM: tpm, Budgets: budgets}
}

// Admit admits and fails the test on an error.
func Admit(t testing.TB, s stores.Store, a stores.Admission) (*stores.Ticket, stores.Decision) {
	t.Helper()
	tk, d, err := s.Admit(context.Background(), a)
	if err != nil {
		t.Fatalf("Admit: %v", err)
	}
	if d.OK != (tk != nil) {
		t.Fatalf("Admit: OK %v with ticket %v", d.OK, tk)
	}
	return tk, d
}

// Settle settles and fails the test on an error.
func Settle(t testing.TB, s stores.Store, tk *stores.Ticket, tokens int64, usd float64) {
	t.Helper()
	if err := s.Settle(context.Background(), tk, tokens, usd); err != nil {
		t.Fatalf("Settle: %v", err)
	}
}

// Status reads the status and fails the test on an error.
func Status(t testing.TB, s stores.Store, l keys.Limits) keys.Status {
	t.Helper()
	st, err := s.Status(context.Background(), l)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st
}

// concurrently runs n admissions at once (released together), alternating
// between the stores when two, and returns the admitted tickets.
func concurrently(t *testing.T, ss [2]stores.Store, two bool, n int, a stores.Admission, check func(stores.Decision)) []*stores.Ticket {
	t.Helper()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		tickets []*stores.Ticket
		errs    atomic.Int64
		go1     = make(chan struct{})
	)
	for i := range n {
		s := ss[0]
		if two {
			s = ss[i%2]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-go1
			tk, d, err := s.Admit(context.Background(), a)
			if err != nil || d.OK != (tk != nil) {
				errs.Add(1)
				return
			}
			if check != nil {
				check(d)
			}
			if tk != nil {
				mu.Lock()
				tickets = append(tickets, tk)
				mu.Unlock()
			}
		}()
	}
	close(go1)
	wg.Wait()
	if errs.Load() > 0 {
		t.Fatalf("%d admissions failed with an error", errs.Load())
	}
	return tickets
}

func testBudgetConcurrency(t *testing.T, f Factory, two bool) {
	clock := NewClock(Start)
	ss := f(t, clock)
	const n = 25
	daily := keys.NewBudget(1.00, keys.Daily)
	l := limits("budget", 0, 0, daily)
	a := stores.Admission{Key: l, Tokens: 10, Reserve: 0.04} // 25 × $0.04 = $1.00 exactly
	var wrong atomic.Int64
	untilMidnight := 14 * time.Hour
	tickets := concurrently(t, ss, two, 10*n, a, func(d stores.Decision) {
		if !d.OK && (d.Code != stores.CodeBudgetExceeded || d.RetryAfter != untilMidnight || !d.HasBudget) {
			wrong.Add(1)
		}
	})
	if wrong.Load() > 0 {
		t.Errorf("%d refusals were not budget_exceeded with Retry-After %s", wrong.Load(), untilMidnight)
	}
	if len(tickets) != n {
		t.Fatalf("%d concurrent admissions reserving $0.04 against $1.00: %d admitted, want exactly %d", 10*n, len(tickets), n)
	}
	st := Status(t, ss[0], l)
	if b := st.Budgets[0]; !near(b.Reserved, 1.00) || !near(b.Spend, 0) || !near(b.Remaining, 0) {
		t.Fatalf("after admissions: %+v, want $1.00 reserved", b)
	}

	// Settle concurrently at real costs of up to the reservation.
	var spent atomic.Int64
	var wg sync.WaitGroup
	for i, tk := range tickets {
		s := ss[0]
		if two {
			s = ss[i%2]
		}
		cost := int64(rand.IntN(40_000_001)) // nano-USD, up to $0.04
		spent.Add(cost)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Settle(context.Background(), tk, 30, keys.FromNano(cost)); err != nil {
				t.Errorf("Settle: %v", err)
			}
		}()
	}
	wg.Wait()
	st = Status(t, ss[0], l)
	b := st.Budgets[0]
	if !near(b.Spend, keys.FromNano(spent.Load())) || !near(b.Reserved, 0) || b.Spend > 1.00 {
		t.Fatalf("after settling $%.9f: %+v", keys.FromNano(spent.Load()), b)
	}

	// Fill the rest, paying the whole reservation: spend never passes $1.
	more := 0
	for {
		tk, d := Admit(t, ss[more%2], a)
		if !d.OK {
			break
		}
		Settle(t, ss[more%2], tk, 30, 0.04)
		more++
		if more > 1000 {
			t.Fatal("the budget never ran out")
		}
	}
	st = Status(t, ss[1], l)
	b = st.Budgets[0]
	if b.Spend > 1.00+1e-9 || b.Remaining >= 0.04 || b.Remaining < -1e-9 {
		t.Fatalf("after %d more requests: %+v", more, b)
	}
	t.Logf("budget $1.00, reservations $0.04: %d concurrent admissions, %d admitted; settled spend $%.6f; %d more admitted sequentially, spend $%.6f ≤ $1.00",
		10*n, len(tickets), keys.FromNano(spent.Load()), more, b.Spend)
}

func testRPMConcurrency(t *testing.T, f Factory, two bool) {
	clock := NewClock(Start)
	ss := f(t, clock)
	const rpm = 30
	l := limits("rpm", rpm, 0)
	a := stores.Admission{Key: l}
	var wrong atomic.Int64
	check := func(d stores.Decision) {
		if !d.OK && (d.Code != stores.CodeRateLimited || d.RetryAfter != time.Minute || d.Requests.Remaining != 0) {
			wrong.Add(1)
		}
	}
	got := concurrently(t, ss, two, 10*rpm, a, check)
	if len(got) != rpm {
		t.Fatalf("%d concurrent admissions with rpm %d: %d admitted", 10*rpm, rpm, len(got))
	}
	clock.Advance(time.Minute - time.Millisecond)
	if _, d := Admit(t, ss[0], a); d.OK || d.RetryAfter != time.Second {
		t.Fatalf("59.999s later: %+v, want refused with Retry-After 1s", d)
	}
	clock.Advance(time.Millisecond)
	again := concurrently(t, ss, two, 10*rpm, a, check)
	if len(again) != rpm {
		t.Fatalf("a minute later: %d admitted, want %d", len(again), rpm)
	}
	if wrong.Load() > 0 {
		t.Errorf("%d refusals were not rate_limited with Retry-After 60s", wrong.Load())
	}
	t.Logf("rpm %d: %d concurrent admissions, %d admitted; a minute later %d of %d", rpm, 10*rpm, len(got), len(again), 10*rpm)
}

func testTPMConcurrency(t *testing.T, f Factory, two bool) {
	clock := NewClock(Start)
	ss := f(t, clock)
	l := limits("tpm", 0, 1000)
	a := stores.Admission{Key: l, Tokens: 100}
	got := concurrently(t, ss, two, 100, a, nil)
	if len(got) != 10 {
		t.Fatalf("100 concurrent admissions of 100 tokens with tpm 1000: %d admitted", len(got))
	}
	for i, tk := range got {
		Settle(t, ss[i%2], tk, 50, 0)
	}
	clock.Advance(10 * time.Second)
	// 500 settled tokens in the window leave room for 5 estimates of 100.
	more := concurrently(t, ss, two, 100, a, nil)
	if len(more) != 5 {
		t.Fatalf("with 500 settled tokens: %d admitted, want 5", len(more))
	}
	if st := Status(t, ss[1], l); st.Tokens != 1000 || st.Requests != 15 {
		t.Fatalf("status %+v, want 1000 tokens, 15 requests", st)
	}
	_, d := Admit(t, ss[0], a)
	if d.OK || d.Code != stores.CodeRateLimited || d.RetryAfter != 50*time.Second {
		t.Fatalf("full window: %+v, want rate_limited, Retry-After 50s (when the settled tokens leave)", d)
	}
	t.Logf("tpm 1000, estimates of 100: 100 concurrent admissions, %d admitted; after settling at 50 tokens each, %d more", len(got), len(more))
}

func testSlidingWindow(t *testing.T, f Factory) {
	clock := NewClock(Start)
	s := f(t, clock)[0]
	l := limits("sliding", 10, 0)
	a := stores.Admission{Key: l}
	for range 5 {
		if _, d := Admit(t, s, a); !d.OK {
			t.Fatal("refused below the limit")
		}
	}
	clock.Advance(30 * time.Second)
	var d stores.Decision
	for i := range 5 {
		_, d = Admit(t, s, a)
		if !d.OK || d.Requests.Remaining != int64(4-i) || d.Requests.Limit != 10 {
			t.Fatalf("request %d at 30s: %+v", 6+i, d)
		}
	}
	if d.Requests.Reset != 30*time.Second {
		t.Fatalf("reset %s, want 30s (when the first five leave)", d.Requests.Reset)
	}
	clock.Advance(15 * time.Second)
	_, d = Admit(t, s, a)
	if d.OK || d.RetryAfter != 15*time.Second || d.Code != stores.CodeRateLimited {
		t.Fatalf("at 45s: %+v, want refused with Retry-After 15s", d)
	}
	h := make(map[string][]string)
	d.SetHeaders(h)
	if h["Retry-After"][0] != "15" || h["X-Ratelimit-Remaining-Requests"][0] != "0" || h["X-Ratelimit-Reset-Requests"][0] != "15s" {
		t.Fatalf("headers %v", h)
	}
	clock.Advance(15*time.Second - time.Millisecond)
	if _, d = Admit(t, s, a); d.OK {
		t.Fatal("admitted at 59.999s, while ten requests are in the window")
	}
	clock.Advance(time.Millisecond)
	for i := range 5 {
		if _, d = Admit(t, s, a); !d.OK {
			t.Fatalf("request %d at 60s refused: %+v", i, d)
		}
	}
	if _, d = Admit(t, s, a); d.OK || d.RetryAfter != 30*time.Second {
		t.Fatalf("sixth at 60s: %+v, want refused with Retry-After 30s", d)
	}
	if st := Status(t, s, l); st.Requests != 10 {
		t.Fatalf("status: %d requests in the window, want 10", st.Requests)
	}
}

func testTokenWindow(t *testing.T, f Factory) {
	clock := NewClock(Start)
	s := f(t, clock)[0]
	l := limits("tokens", 0, 1000)
	tk, d := Admit(t, s, stores.Admission{Key: l, Tokens: 300})
	if !d.OK || d.Tokens.Remaining != 700 || d.Tokens.Reset != time.Minute {
		t.Fatalf("first: %+v", d)
	}
	// In flight, its estimate holds the window however long it takes.
	clock.Advance(5 * time.Minute)
	if _, d = Admit(t, s, stores.Admission{Key: l, Tokens: 800}); d.OK {
		t.Fatal("admitted 800 tokens beside 300 in flight")
	}
	Settle(t, s, tk, 900, 0) // the real usage, from now
	if _, d = Admit(t, s, stores.Admission{Key: l, Tokens: 200}); d.OK || d.RetryAfter != time.Minute {
		t.Fatalf("200 tokens beside 900 settled: %+v, want refused for 60s", d)
	}
	clock.Advance(20 * time.Second)
	tk2, d := Admit(t, s, stores.Admission{Key: l, Tokens: 100})
	if !d.OK || d.Tokens.Remaining != 0 || d.Tokens.Reset != 40*time.Second {
		t.Fatalf("100 tokens beside 900: %+v", d)
	}
	Settle(t, s, tk2, 0, 0) // failed: its estimate leaves at once
	if st := Status(t, s, l); st.Tokens != 900 {
		t.Fatalf("status: %d tokens, want 900", st.Tokens)
	}
	clock.Advance(40 * time.Second)
	if _, d = Admit(t, s, stores.Admission{Key: l, Tokens: 1000}); !d.OK {
		t.Fatalf("a minute after settling, the window is empty: %+v", d)
	}
}

func testTooLarge(t *testing.T, f Factory) {
	s := f(t, NewClock(Start))[0]
	l := limits("large", 0, 1000)
	_, d := Admit(t, s, stores.Admission{Key: l, Tokens: 1001})
	if d.OK || d.Code != stores.CodeRateLimited || d.RetryAfter != 0 {
		t.Fatalf("request larger than tpm: %+v, want rate_limited without Retry-After", d)
	}
}

func testAdjust(t *testing.T, f Factory) {
	clock := NewClock(Start)
	ss := f(t, clock)
	l := limits("adjust", 0, 0, keys.NewBudget(1, keys.Monthly), keys.NewBudget(0.5, keys.Daily))
	tk, d := Admit(t, ss[0], stores.Admission{Key: l, Reserve: 0.2})
	if !d.OK || !near(d.BudgetRemaining, 0.3) {
		t.Fatalf("admit: %+v, want $0.30 left of the daily budget", d)
	}
	other, _ := Admit(t, ss[1], stores.Admission{Key: l, Reserve: 0.2})
	// The first attempt failed after costing $0.05; the next may cost $0.30.
	d, err := ss[0].Adjust(context.Background(), tk, 0.35)
	if err != nil || d.OK || d.Code != stores.CodeBudgetExceeded || d.RetryAfter != 14*time.Hour {
		t.Fatalf("adjust beyond the daily budget: %+v %v", d, err)
	}
	if tk.ReservedUSD() != 0.2 {
		t.Fatalf("refused adjust changed the reservation to %v", tk.ReservedUSD())
	}
	d, err = ss[1].Adjust(context.Background(), tk, 0.3)
	if err != nil || !d.OK || !near(d.BudgetRemaining, 0) || tk.ReservedUSD() != 0.3 {
		t.Fatalf("adjust to exactly what is left: %+v %v (reserved %v)", d, err, tk.ReservedUSD())
	}
	if st := Status(t, ss[0], l); !near(st.Budgets[1].Reserved, 0.5) || !near(st.Budgets[0].Reserved, 0.5) {
		t.Fatalf("status %+v", st)
	}
	d, err = ss[0].Adjust(context.Background(), tk, 0.1)
	if err != nil || !d.OK || !near(d.BudgetRemaining, 0.2) {
		t.Fatalf("adjust down: %+v %v", d, err)
	}
	Settle(t, ss[1], tk, 10, 0.08)
	Settle(t, ss[0], other, 10, 0)
	st := Status(t, ss[1], l)
	for i, want := range []float64{1, 0.5} {
		if b := st.Budgets[i]; !near(b.Spend, 0.08) || !near(b.Reserved, 0) || !near(b.Remaining, want-0.08) {
			t.Fatalf("budget %d: %+v", i, b)
		}
	}
}

func testExpiry(t *testing.T, f Factory) {
	clock := NewClock(Start)
	s := f(t, clock)[0]
	l := limits("expiry", 0, 1000, keys.NewBudget(1, keys.Total))
	if _, d := Admit(t, s, stores.Admission{Key: l, Tokens: 1000, Reserve: 1, TTL: 2 * time.Minute}); !d.OK {
		t.Fatal("refused")
	}
	// Its process died: nothing settles it.
	clock.Advance(2*time.Minute - time.Millisecond)
	if _, d := Admit(t, s, stores.Admission{Key: l, Reserve: 0.01}); d.OK || d.Code != stores.CodeBudgetExceeded || d.RetryAfter != 0 {
		t.Fatalf("before the TTL: %+v, want budget_exceeded without Retry-After (total)", d)
	}
	clock.Advance(time.Millisecond)
	st := Status(t, s, l)
	if st.Tokens != 0 || !near(st.Budgets[0].Reserved, 0) || !near(st.Budgets[0].Remaining, 1) {
		t.Fatalf("after the TTL: %+v, want nothing in flight or reserved", st)
	}
	if _, d := Admit(t, s, stores.Admission{Key: l, Tokens: 1000, Reserve: 1}); !d.OK {
		t.Fatalf("after the TTL: %+v", d)
	}
}

func testPeriodRollover(t *testing.T, f Factory) {
	sunday := time.Date(2026, 3, 15, 23, 59, 59, 0, time.UTC) // the last second of an ISO week
	clock := NewClock(sunday)
	s := f(t, clock)[0]
	weekly := keys.NewBudget(1, keys.Weekly)
	l := limits("rollover", 0, 0, weekly)
	tk, d := Admit(t, s, stores.Admission{Key: l, Reserve: 1})
	if !d.OK {
		t.Fatal("refused")
	}
	if _, d = Admit(t, s, stores.Admission{Key: l, Reserve: 0.01}); d.OK || d.RetryAfter != time.Second {
		t.Fatalf("at Sunday 23:59:59: %+v, want refused until Monday (1s)", d)
	}
	clock.Advance(time.Second)
	// Admitted last week, it settles into last week.
	Settle(t, s, tk, 10, 0.9)
	tk2, d := Admit(t, s, stores.Admission{Key: l, Reserve: 1})
	if !d.OK || !near(d.BudgetRemaining, 0) {
		t.Fatalf("on Monday: %+v", d)
	}
	Settle(t, s, tk2, 10, 0.25)
	st := Status(t, s, l)
	b := st.Budgets[0]
	if !near(b.Spend, 0.25) || !b.Start.Equal(sunday.Add(time.Second)) || !b.End.Equal(sunday.Add(7*24*time.Hour+time.Second)) {
		t.Fatalf("this week: %+v", b)
	}
}

func testTotalBudget(t *testing.T, f Factory) {
	clock := NewClock(Start)
	s := f(t, clock)[0]
	l := limits("total", 0, 0, keys.NewBudget(0.1, keys.Total))
	tk, _ := Admit(t, s, stores.Admission{Key: l, Reserve: 0.1})
	Settle(t, s, tk, 1, 0.1)
	clock.Advance(400 * 24 * time.Hour)
	_, d := Admit(t, s, stores.Admission{Key: l, Reserve: 0.000001})
	if d.OK || d.RetryAfter != 0 || d.Code != stores.CodeBudgetExceeded {
		t.Fatalf("a spent total budget, 400 days later: %+v", d)
	}
	// A request without a price costs nothing and still fits.
	tk, d = Admit(t, s, stores.Admission{Key: l})
	if !d.OK {
		t.Fatalf("free request: %+v", d)
	}
	Settle(t, s, tk, 1, 0)
}

func testSettleOnce(t *testing.T, f Factory) {
	s := f(t, NewClock(Start))[0]
	l := limits("once", 0, 0, keys.NewBudget(1, keys.Daily))
	tk, _ := Admit(t, s, stores.Admission{Key: l, Reserve: 0.5})
	Settle(t, s, tk, 10, 0.5)
	if err := s.Settle(context.Background(), tk, 10, 0.5); !errors.Is(err, stores.ErrSettled) {
		t.Fatalf("second Settle: %v, want ErrSettled", err)
	}
	if st := Status(t, s, l); !near(st.Budgets[0].Spend, 0.5) {
		t.Fatalf("spend %v after settling twice, want 0.5", st.Budgets[0].Spend)
	}
}

// A free admission (a cache hit) counts against rpm, which alone refuses
// it; a full token window or a spent budget does not, and the decision
// still carries their figures.
func testFree(t *testing.T, f Factory) {
	s := f(t, NewClock(Start))[0]
	l := limits("free-hit", 3, 100, keys.NewBudget(0.5, keys.Daily))
	tk, _ := Admit(t, s, stores.Admission{Key: l, Tokens: 50, Reserve: 0.5})
	Settle(t, s, tk, 150, 0.75) // over both: more tokens and spend than estimated
	if _, d := Admit(t, s, stores.Admission{Key: l, Tokens: 1, Reserve: 0.000001}); d.OK {
		t.Fatalf("a paid request over tpm and budget: %+v", d)
	}
	for i := range 2 {
		tk, d := Admit(t, s, stores.Admission{Key: l, Free: true})
		if !d.OK || d.Requests.Remaining != int64(1-i) || d.Tokens.Limit != 100 || d.Tokens.Remaining != 0 ||
			!d.HasBudget || !near(d.BudgetRemaining, -0.25) {
			t.Fatalf("free admission %d over tpm and budget: %+v", i, d)
		}
		Settle(t, s, tk, 0, 0)
	}
	_, d := Admit(t, s, stores.Admission{Key: l, Free: true})
	if d.OK || d.Code != stores.CodeRateLimited || d.RetryAfter <= 0 || d.RetryAfter > time.Minute {
		t.Fatalf("a free admission over rpm: %+v, want rate_limited until the window frees", d)
	}
	st := Status(t, s, l)
	if st.Requests != 3 || st.Tokens != 150 || !near(st.Budgets[0].Spend, 0.75) || !near(st.Budgets[0].Reserved, 0) {
		t.Fatalf("free admissions spent: %+v", st)
	}
}

func testUnlimited(t *testing.T, f Factory) {
	clock := NewClock(Start)
	s := f(t, clock)[0]
	l := limits("free", 0, 0)
	for range 100 {
		tk, d := Admit(t, s, stores.Admission{Key: l, Tokens: 1000})
		if d.HasBudget || d.Requests.Limit != 0 || d.Tokens.Limit != 0 {
			t.Fatalf("decision of a key without limits: %+v", d)
		}
		Settle(t, s, tk, 2000, 0)
	}
	if st := Status(t, s, l); st.Requests != 100 || st.Tokens != 200000 {
		t.Fatalf("status %+v, want 100 requests and 200000 tokens counted", st)
	}
	h := make(map[string][]string)
	_, d := Admit(t, s, stores.Admission{Key: l})
	d.SetHeaders(h)
	if len(h) != 0 {
		t.Fatalf("headers for a key without limits: %v", h)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
