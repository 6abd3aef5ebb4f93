package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// latency sends most traffic to the faster of two upstreams and still
// probes the slower one.
func TestStrategyLatency(t *testing.T) {
	fast := fakeupstream.NewOpenAI(t, "fast")
	slow := fakeupstream.NewOpenAI(t, "slow").Always(fakeupstream.Step{Delay: 40 * time.Millisecond})
	load(t, router(`
		target fast {
			base_url `+fast.BaseURL()+`
		}
		target slow {
			base_url `+slow.BaseURL()+`
		}
		model m {
			strategy latency
			to slow
			to fast
		}`))
	const n = 200
	for i := 0; i < n; i++ {
		expectStatus(t, do(t, "/v1/chat/completions", chat("m")), 200)
	}
	// Expected: ~90% fast (plus the one request that measures each). A
	// share of 75% is more than ten standard deviations below that.
	if fast.Count() < n*3/4 {
		t.Fatalf("fast got %d of %d requests", fast.Count(), n)
	}
	if slow.Count() < 2 {
		t.Fatalf("slow was probed %d times; its figure must stay fresh", slow.Count())
	}
}

// least_busy avoids the target that is holding slow requests.
func TestStrategyLeastBusy(t *testing.T) {
	hold := make(chan struct{})
	busy := fakeupstream.NewOpenAI(t, "busy").Always(fakeupstream.Step{Hold: hold})
	idle := fakeupstream.NewOpenAI(t, "idle")
	load(t, router(`
		target busy {
			base_url `+busy.BaseURL()+`
		}
		target idle {
			base_url `+idle.BaseURL()+`
		}
		model m {
			strategy least_busy
			to busy
			to idle
		}`))
	// Three slow requests pinned to `busy` stay in flight there.
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := do(t, "/v1/chat/completions", chat("m"), "X-LLM-Target", "busy")
			if r.Status != 200 {
				t.Errorf("held request: %d %s", r.Status, r.Body)
			}
		}()
	}
	if !busy.WaitRequests(3, 10*time.Second) {
		t.Fatal("held requests did not arrive")
	}
	for i := 0; i < 20; i++ {
		r := do(t, "/v1/chat/completions", chat("m"))
		expectStatus(t, r, 200)
		if r.Header.Get("X-LLM-Target") != "idle" {
			t.Fatalf("request %d went to %s while busy held 3 requests", i, r.Header.Get("X-LLM-Target"))
		}
	}
	close(hold)
	wg.Wait()
	if busy.Count() != 3 {
		t.Fatalf("busy got %d requests, want only the 3 pinned ones", busy.Count())
	}
}

// cost picks the cheaper member and falls back to the dearer one when the
// cheaper fails; the request's cost reaches {http.llm_router.cost}.
func TestStrategyCostAndCostPlaceholder(t *testing.T) {
	cheap := fakeupstream.NewOpenAI(t, "cheap")
	dear := fakeupstream.NewOpenAI(t, "dear")
	logFile := filepath.Join(t.TempDir(), "access.log")
	load(t, `
		log {
			output file `+logFile+`
			format json
		}
		log_append llm_cost_placeholder {http.llm_router.cost}
		`+router(`
		target dear {
			base_url `+dear.BaseURL()+`
			price * 10 30
		}
		target cheap {
			base_url `+cheap.BaseURL()+`
			price small-* 0.5 1.5
			price * 100 100
		}
		model m {
			strategy cost
			to dear big-model
			to cheap small-model
		}
		retries 0
		cooldown 0 1s`))
	for i := 0; i < 5; i++ {
		r := do(t, "/v1/chat/completions", chat("m"))
		expectStatus(t, r, 200)
		if r.Header.Get("X-LLM-Target") != "cheap" {
			t.Fatalf("answered by %s, want cheap", r.Header.Get("X-LLM-Target"))
		}
	}
	cheap.FailTimes(1, 503, "")
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	if r.Header.Get("X-LLM-Target") != "dear" || r.Header.Get("X-LLM-Attempts") != "2" {
		t.Fatalf("after cheap failed: target %s attempts %s", r.Header.Get("X-LLM-Target"), r.Header.Get("X-LLM-Attempts"))
	}
	// cheap: 9 prompt × 0.5 + 12 completion × 1.5 per million; dear: 9×10 + 12×30.
	wantCheap, wantDear := (9*0.5+12*1.5)/1e6, (9*10.0+12*30)/1e6
	var costs []float64
	eventually(t, 10*time.Second, func() bool {
		costs = readCosts(t, logFile)
		return len(costs) >= 6
	}, "six access log entries")
	for i, c := range costs[:5] {
		if !near(c, wantCheap) {
			t.Errorf("entry %d cost %g, want %g", i, c, wantCheap)
		}
	}
	if !near(costs[5], wantDear) {
		t.Errorf("fallback cost %g, want %g", costs[5], wantDear)
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-12 && d > -1e-12 }

// readCosts returns llm_cost_usd of each access log entry, checking that
// the placeholder (via log_append) agrees with it.
func readCosts(t *testing.T, file string) []float64 {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out []float64
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var entry struct {
			Cost        float64 `json:"llm_cost_usd"`
			Placeholder string  `json:"llm_cost_placeholder"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil || entry.Placeholder == "" {
			continue
		}
		var fromPlaceholder float64
		if err := json.Unmarshal([]byte(entry.Placeholder), &fromPlaceholder); err != nil || !near(fromPlaceholder, entry.Cost) {
			t.Errorf("placeholder %q disagrees with llm_cost_usd %g", entry.Placeholder, entry.Cost)
		}
		out = append(out, entry.Cost)
	}
	return out
}

// max_in_flight: a full target is skipped like a failed one but without
// counting as a failure; with every candidate full, 429 rate_limited with
// Retry-After.
func TestMaxInFlight(t *testing.T) {
	hold := make(chan struct{})
	capped := fakeupstream.NewOpenAI(t, "capped").Script(fakeupstream.Step{Hold: hold})
	other := fakeupstream.NewOpenAI(t, "other")
	load(t, router(`
		target capped {
			base_url `+capped.BaseURL()+`
			max_in_flight 1
		}
		target other {
			base_url `+other.BaseURL()+`
		}
		model m {
			strategy fallback
			to capped
			to other
		}
		cooldown 1 1m`))
	done := make(chan result, 1)
	go func() { done <- do(t, "/v1/chat/completions", chat("m")) }()
	if !capped.WaitRequests(1, 10*time.Second) {
		t.Fatal("the first request did not reach capped")
	}
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	if r.Header.Get("X-LLM-Target") != "other" || r.Header.Get("X-LLM-Attempts") != "1" {
		t.Fatalf("second request: target %s attempts %s", r.Header.Get("X-LLM-Target"), r.Header.Get("X-LLM-Attempts"))
	}
	r = do(t, "/v1/chat/completions", chat("m"), "X-LLM-Target", "capped")
	expectError(t, r, 429, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	close(hold)
	if first := <-done; first.Status != 200 {
		t.Fatalf("held request: %d", first.Status)
	}
	// The skips were not failures: with cooldown 1, a counted failure would
	// have put capped in cooldown and this would go to other.
	r = do(t, "/v1/chat/completions", chat("m"))
	if r.Header.Get("X-LLM-Target") != "capped" {
		t.Fatalf("capped was treated as failed: answered by %s", r.Header.Get("X-LLM-Target"))
	}
}

// A request that forces its target with X-LLM-Target gets that target's
// answer, failure included: the fallback list is not tried.
func TestForcedTargetHasNoFallback(t *testing.T) {
	broken := fakeupstream.NewOpenAI(t, "broken").Always(fakeupstream.Step{Status: 503})
	spare := fakeupstream.NewOpenAI(t, "spare")
	load(t, router(`
		target broken {
			base_url `+broken.BaseURL()+`
		}
		target spare {
			base_url `+spare.BaseURL()+`
		}
		retries 0
		cooldown 0 1s
		fallback spare`))
	r := do(t, "/v1/chat/completions", chat("m"), "X-LLM-Target", "broken")
	expectError(t, r, 502, "upstream_error")
	if spare.Count() != 0 || r.Header.Get("X-LLM-Target") != "broken" {
		t.Fatalf("forced request fell back: spare got %d, answered by %s", spare.Count(), r.Header.Get("X-LLM-Target"))
	}
	// Without the header the same request falls back.
	r = do(t, "/v1/chat/completions", chat("m"))
	if r.Status != 200 || r.Header.Get("X-LLM-Target") != "spare" {
		t.Fatalf("unforced request: %d from %s", r.Status, r.Header.Get("X-LLM-Target"))
	}
}
