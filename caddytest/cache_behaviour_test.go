package integration

// SPEC 12 beyond the formats: keys, Cache-Control, answers that must not
// be stored, identical requests at once, the memory bound, the log and
// metrics, and Redis shared by two Caddy processes.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
	"github.com/llmrouter/caddy-llm-router/internal/redistest"
)

// cacheChat is a chat body unique to the test.
func cacheChat(t *testing.T, extra ...string) string {
	return chat("gpt-4o", append([]string{`"temperature":0.` + fmt.Sprint(len(t.Name())%9+1), `"user":"` + randomMarker() + `"`}, extra...)...)
}

// TestCacheKeys: an answer stored for one key is never served to another;
// hits cost nothing and count no tokens (the admin API's figures and the
// x-ratelimit headers), but count as requests against rpm.
func TestCacheKeys(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	alice, bob := keyName(t, "alice"), keyName(t, "bob")
	load(t, router(fmt.Sprintf(`
		target gpt {
			base_url %s
			price gpt-* 1000 1000
		}
		key %s {
			name %s
			rpm 100
			tpm 100000
			budget 50 daily
		}
		key %s {
			name %s
		}
		cache`, up.BaseURL(), keyAlice, alice, keyBob, bob)))
	body := chat("gpt-4o", `"prompt_marker":"`+randomMarker()+`"`)
	asAlice := []string{"Authorization", "Bearer " + keyAlice}
	status := func() gjson.Result {
		resp, err := http.Get(fmt.Sprintf("http://localhost:%d/llm_router/keys", adminPort))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return gjson.GetBytes(b, `#(name=="`+alice+`")`)
	}

	miss := do(t, "/v1/chat/completions", body, asAlice...)
	expectStatus(t, miss, 200)
	if miss.Header.Get("X-LLM-Cache") != "miss" || up.Count() != 1 {
		t.Fatalf("first: %q, %d upstream calls", miss.Header.Get("X-LLM-Cache"), up.Count())
	}
	before := status()
	tokens := fakeupstream.FakePromptTokens + fakeupstream.FakeCompletionTokens
	if before.Get("requests").Int() != 1 || before.Get("tokens").Int() != int64(tokens) || before.Get("budgets.0.spend").Float() <= 0 {
		t.Fatalf("after the miss: %s", before.Raw)
	}
	for i := range 3 {
		hit := do(t, "/v1/chat/completions", body, asAlice...)
		expectStatus(t, hit, 200)
		if hit.Header.Get("X-LLM-Cache") != "hit" || string(hit.Body) != string(miss.Body) {
			t.Fatalf("hit %d: %q %s", i, hit.Header.Get("X-LLM-Cache"), hit.Body)
		}
		if got, want := hit.Header.Get("X-Ratelimit-Remaining-Requests"), fmt.Sprint(100-2-i); got != want {
			t.Errorf("hit %d: x-ratelimit-remaining-requests %q, want %s (a hit is a request)", i, got, want)
		}
		// Every keyed answer carries the key's limit headers; a hit's
		// show that it spent nothing.
		if got, want := hit.Header.Get("X-Ratelimit-Remaining-Tokens"), fmt.Sprint(100000-tokens); got != want {
			t.Errorf("hit %d: x-ratelimit-remaining-tokens %q, want %s", i, got, want)
		}
		if got, err := strconv.ParseFloat(hit.Header.Get("X-LLM-Budget-Remaining"), 64); err != nil || math.Abs(got-before.Get("budgets.0.remaining").Float()) > 1e-9 {
			t.Errorf("hit %d: X-LLM-Budget-Remaining %q, want %v", i, hit.Header.Get("X-LLM-Budget-Remaining"), before.Get("budgets.0.remaining").Float())
		}
	}
	after := status()
	if after.Get("requests").Int() != 4 || after.Get("tokens").Int() != before.Get("tokens").Int() ||
		after.Get("budgets.0.spend").Float() != before.Get("budgets.0.spend").Float() || after.Get("budgets.0.reserved").Float() != 0 {
		t.Errorf("hits were charged: before %s, after %s", before.Raw, after.Raw)
	}
	// Bob's identical request is his own miss, then his own hit.
	for i, want := range []string{"miss", "hit"} {
		r := do(t, "/v1/chat/completions", body, "Authorization", "Bearer "+keyBob)
		expectStatus(t, r, 200)
		if r.Header.Get("X-LLM-Cache") != want {
			t.Errorf("bob's request %d: %q, want %s", i, r.Header.Get("X-LLM-Cache"), want)
		}
	}
	if up.Count() != 2 {
		t.Errorf("%d upstream calls, want 2 (alice's and bob's)", up.Count())
	}
}

// TestCacheHitOverTPM: a hit spends no tokens, so a key whose token
// window is full still gets its hits (counted against rpm), with the
// window's figures in the headers.
func TestCacheHitOverTPM(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	carol := keyName(t, "carol")
	// A body of 80 bytes is estimated at 20 prompt tokens: it fits in tpm
	// 20, and then settles at the fake's 9 + 12 = 21 tokens.
	body := chat("gpt-4o") // the key's name is the test's own: no other test shares its entries
	for len(body) < 80 {
		body = strings.Replace(body, `"content":"`, `"content":"x`, 1)
	}
	if len(body)/4 != 20 {
		t.Fatalf("the body is %d bytes, want 80 to 83: %s", len(body), body)
	}
	load(t, router(fmt.Sprintf(`
		target gpt {
			base_url %s
			price gpt-* 1 1
		}
		key %s {
			name %s
			rpm 100
			tpm 20
			budget 50 daily
		}
		cache`, up.BaseURL(), keyAlice, carol)))
	asCarol := []string{"Authorization", "Bearer " + keyAlice}
	miss := do(t, "/v1/chat/completions", body, asCarol...)
	expectStatus(t, miss, 200)
	if miss.Header.Get("X-LLM-Cache") != "miss" {
		t.Fatalf("first: %q", miss.Header.Get("X-LLM-Cache"))
	}
	// A different request is refused: the window holds 21 tokens.
	other := do(t, "/v1/chat/completions", chat("gpt-4o", `"seed":1`), asCarol...)
	expectStatus(t, other, 429)
	if other.json("error.code").Str != "rate_limited" {
		t.Fatalf("a new request over tpm: %s", other.Body)
	}
	hit := do(t, "/v1/chat/completions", body, asCarol...)
	expectStatus(t, hit, 200)
	if hit.Header.Get("X-LLM-Cache") != "hit" || string(hit.Body) != string(miss.Body) {
		t.Fatalf("the hit over tpm: %q %s", hit.Header.Get("X-LLM-Cache"), hit.Body)
	}
	for h, want := range map[string]string{
		"X-Ratelimit-Remaining-Tokens":   "0",
		"X-Ratelimit-Limit-Tokens":       "20",
		"X-Ratelimit-Remaining-Requests": "98", // the miss and the hit (a refusal is not counted)
	} {
		if got := hit.Header.Get(h); got != want {
			t.Errorf("the hit's %s: %q, want %q", h, got, want)
		}
	}
	if hit.Header.Get("X-LLM-Budget-Remaining") == "" {
		t.Error("the hit has no X-LLM-Budget-Remaining")
	}
	if up.Count() != 1 {
		t.Errorf("%d upstream calls, want 1", up.Count())
	}
}

// TestCacheStreamClientHangsUpAtEnd: a streamed answer relayed whole is
// stored even when its client hangs up as soon as it has the last event
// (as SDKs close a stream at [DONE]), while the router is still draining
// the upstream's connection.
func TestCacheStreamClientHangsUpAtEnd(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	head := `data: {"id":"chatcmpl-end","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[`
	up.Script(fakeupstream.Step{ChunkDelay: 500 * time.Millisecond, SSE: []string{
		head + `{"index":0,"delta":{"role":"assistant","content":"whole"},"finish_reason":null}]}` + "\n\n" +
			head + `{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
			head + `],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}` + "\n\n" +
			"data: [DONE]\n\n",
		"", // the upstream keeps its connection open a while after [DONE]
	}})
	load(t, router(upTarget("gpt", up)+"cache"))
	body := cacheChat(t, `"stream":true`)

	resp := post(t, "/v1/chat/completions", body)
	if resp.StatusCode != 200 || resp.Header.Get("X-LLM-Cache") != "miss" {
		t.Fatalf("first: %d %q", resp.StatusCode, resp.Header.Get("X-LLM-Cache"))
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != "data: [DONE]" {
	}
	if sc.Text() != "data: [DONE]" {
		t.Fatalf("the stream ended without [DONE]: %v", sc.Err())
	}
	resp.Body.Close() // at once, before the router's handler has returned

	again := do(t, "/v1/chat/completions", body)
	expectStatus(t, again, 200)
	if again.Header.Get("X-LLM-Cache") != "hit" || up.Count() != 1 {
		t.Fatalf("the same request after the client hung up at [DONE]: X-LLM-Cache %q, %d upstream calls", again.Header.Get("X-LLM-Cache"), up.Count())
	}
}

// TestCacheControl: no-cache skips the lookup (and stores the fresh
// answer), no-store is served from the cache but never stores.
func TestCacheControl(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	load(t, router(upTarget("gpt", up)+"cache"))
	body := cacheChat(t)
	cacheOf := func(r result) string { expectStatus(t, r, 200); return r.Header.Get("X-LLM-Cache") }
	if c := cacheOf(do(t, "/v1/chat/completions", body)); c != "miss" {
		t.Fatalf("first: %s", c)
	}
	if c := cacheOf(do(t, "/v1/chat/completions", body, "Cache-Control", "no-cache")); c != "miss" || up.Count() != 2 {
		t.Errorf("no-cache: %s, %d upstream calls", c, up.Count())
	}
	if c := cacheOf(do(t, "/v1/chat/completions", body, "Cache-Control", "no-store")); c != "hit" || up.Count() != 2 {
		t.Errorf("no-store with an entry: %s, %d upstream calls", c, up.Count())
	}
	other := cacheChat(t, `"seed":7`)
	for range 2 {
		if c := cacheOf(do(t, "/v1/chat/completions", other, "Cache-Control", "no-store")); c != "miss" {
			t.Errorf("no-store without an entry: %s", c)
		}
	}
	if c := cacheOf(do(t, "/v1/chat/completions", other)); c != "miss" || up.Count() != 5 {
		t.Errorf("an answer asked no-store was stored: %s, %d upstream calls", c, up.Count())
	}
}

// TestCacheIncompleteNotStored: a stream that fails midway, ends with an
// in-stream error or is cancelled by its client is not stored, nor is an
// error; the next identical request goes upstream.
func TestCacheIncompleteNotStored(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	load(t, router(upTarget("gpt", up)+"retries 0\ncache"))
	path := "/v1/chat/completions"
	for _, tc := range []struct {
		name string
		step fakeupstream.Step
	}{
		{"dropped", fakeupstream.Step{DropAfter: 2}},
		{"in-stream error", fakeupstream.Step{ErrorAfter: 2}},
		{"error status", fakeupstream.Step{Status: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := cacheChat(t, `"stream":true`)
			up.Script(tc.step)
			before := up.Count()
			r := do(t, path, body)
			if r.Status == 200 && strings.Contains(string(r.Body), "[DONE]") {
				t.Fatalf("the failure did not reach the client: %s", r.Body)
			}
			// The whole answer was read, so the handler had returned.
			again := do(t, path, body)
			expectStatus(t, again, 200)
			if again.Header.Get("X-LLM-Cache") != "miss" || up.Count() != before+2 {
				t.Fatalf("after a failed answer: %s, %d upstream calls", again.Header.Get("X-LLM-Cache"), up.Count()-before)
			}
			if r := do(t, path, body); r.Header.Get("X-LLM-Cache") != "hit" {
				t.Errorf("the complete answer that followed was not stored: %s", r.Header.Get("X-LLM-Cache"))
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		body := cacheChat(t, `"stream":true`)
		up.Script(fakeupstream.Step{HangAfter: 1})
		before := up.Count()
		ctx, cancel := context.WithCancel(context.Background())
		resp := open(t, ctx, http.MethodPost, path, body)
		if _, err := resp.Body.Read(make([]byte, 1)); err != nil {
			t.Fatalf("no first event: %v", err)
		}
		// An identical request now waits for the first (same flight):
		// whatever the first stores decides what the second gets.
		second := make(chan result, 1)
		go func() { second <- sendTo(t, base, path, body) }()
		cancel()
		r := <-second
		if r.Status != 200 || r.Header.Get("X-LLM-Cache") != "miss" || up.Count() != before+2 {
			t.Fatalf("after a cancelled stream: %d %s, %d upstream calls", r.Status, r.Header.Get("X-LLM-Cache"), up.Count()-before)
		}
	})
}

// TestCacheIdenticalAtOnce: identical requests arriving while the first is
// on its way upstream wait for its answer: one upstream request in all.
func TestCacheIdenticalAtOnce(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	load(t, router(upTarget("gpt", up)+"cache"))
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", streamed), func(t *testing.T) {
			extra := []string{}
			if streamed {
				extra = append(extra, `"stream":true`)
			}
			body := cacheChat(t, extra...)
			hold := make(chan struct{})
			up.Script(fakeupstream.Step{Hold: hold})
			before := up.Count()
			leader := make(chan result, 1)
			go func() { leader <- sendTo(t, base, "/v1/chat/completions", body) }()
			if !up.WaitRequests(before+1, 10*time.Second) {
				t.Fatal("the first request did not reach the upstream")
			}
			const n = 6
			var wg sync.WaitGroup
			var sent sync.WaitGroup
			results := make([]result, n)
			for i := range n {
				wg.Add(1)
				sent.Add(1)
				go func() {
					defer wg.Done()
					results[i] = sendWritten(t, "/v1/chat/completions", body, sent.Done)
				}()
			}
			sent.Wait() // every request is at the router
			close(hold)
			first := <-leader
			wg.Wait()
			expectStatus(t, first, 200)
			if up.Count() != before+1 {
				t.Errorf("%d upstream requests for %d identical ones, want 1", up.Count()-before, n+1)
			}
			for i, r := range results {
				if r.Status != 200 || r.Header.Get("X-LLM-Cache") != "hit" || string(r.Body) != string(first.Body) {
					t.Errorf("request %d: %d %s\n%s", i, r.Status, r.Header.Get("X-LLM-Cache"), r.Body)
				}
			}
		})
	}
}

// sendWritten posts body and calls written once the request is on the
// wire.
func sendWritten(t *testing.T, path, body string, written func()) result {
	return sendWrittenTo(base, path, body, written)
}

// liveHeap is the heap that the last GC found live.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // the second empties the pools' victim caches
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestCacheMemoryBound: a flood of distinct large answers keeps the memory
// store within max_size: the live heap grows by at most max_size plus a
// stated overhead (4 MiB: the store's bookkeeping, pools, the server's
// and the fake's buffers), far less than the answers' total.
func TestCacheMemoryBound(t *testing.T) {
	const (
		maxSize  = 2 << 20
		answer   = 128 << 10
		requests = 160 // 20 MiB of answers
		overhead = 4 << 20
	)
	up := fakeupstream.NewOpenAI(t, "gpt")
	up.Always(fakeupstream.Step{Text: strings.Repeat("x", answer)})
	load(t, router(upTarget("gpt", up)+fmt.Sprintf("cache {\n max_size %d\n}", maxSize)))
	expectStatus(t, do(t, "/v1/chat/completions", cacheChat(t, `"warm":true`)), 200)
	base0 := liveHeap()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r := sendTo(t, base, "/v1/chat/completions", chat("gpt-4o", fmt.Sprintf(`"seed":%d`, i)))
				if r.Status != 200 || len(r.Body) < answer {
					t.Errorf("request %d: %d, %d bytes", i, r.Status, len(r.Body))
				}
			}
		}()
	}
	for i := range requests {
		work <- i
	}
	close(work)
	wg.Wait()
	grown := int64(liveHeap()) - int64(base0)
	t.Logf("live heap grew by %.1f MiB after %d MiB of answers (max_size %d MiB)", float64(grown)/(1<<20), requests*answer>>20, maxSize>>20)
	if grown > maxSize+overhead {
		t.Errorf("live heap grew by %d bytes, above max_size %d + %d", grown, maxSize, overhead)
	}
	// The store still works: the latest answer is a hit.
	if r := do(t, "/v1/chat/completions", chat("gpt-4o", fmt.Sprintf(`"seed":%d`, requests-1))); r.Header.Get("X-LLM-Cache") != "hit" {
		t.Errorf("the latest answer is not kept: %s", r.Header.Get("X-LLM-Cache"))
	}
}

// TestCacheLogAndMetrics: the access log's llm_cache (miss, then hit with
// no attempt, cost 0 and every prompt token counted as cached) and the
// cache_requests_total metric.
func TestCacheLogAndMetrics(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	logFile := filepath.Join(t.TempDir(), "access.log")
	load(t, `
		log {
			output file `+logFile+`
			format json
		}
		log_append seen_tag {http.request.header.X-Tag}
		metrics /metrics
		`+router(upTarget("gpt", up, "price gpt-* 1 2")+"cache"))
	body := cacheChat(t)
	expectStatus(t, do(t, "/v1/chat/completions", body, "X-Tag", "first"), 200)
	expectStatus(t, do(t, "/v1/chat/completions", body, "X-Tag", "second"), 200)
	entry := func(tag string) gjson.Result {
		var found gjson.Result
		eventually(t, 10*time.Second, func() bool {
			b, _ := os.ReadFile(logFile)
			for _, line := range strings.Split(string(b), "\n") {
				if gjson.Get(line, "seen_tag").String() == tag {
					found = gjson.Parse(line)
					return true
				}
			}
			return false
		}, "access log entry "+tag)
		return found
	}
	miss, hit := entry("first"), entry("second")
	if miss.Get("llm_cache").Str != "miss" || miss.Get("llm_attempts").Int() != 1 || miss.Get("llm_cost_usd").Float() <= 0 {
		t.Errorf("miss entry: %s", miss.Raw)
	}
	if hit.Get("llm_cache").Str != "hit" || hit.Get("llm_attempts").Int() != 0 || hit.Get("llm_cost_usd").Float() != 0 ||
		!hit.Get("llm_cost_usd").Exists() || hit.Get("llm_target").Str != "gpt" ||
		hit.Get("llm_prompt_tokens").Int() != fakeupstream.FakePromptTokens || hit.Get("llm_cached_tokens").Int() != fakeupstream.FakePromptTokens ||
		hit.Get("llm_completion_tokens").Int() != fakeupstream.FakeCompletionTokens {
		t.Errorf("hit entry: %s", hit.Raw)
	}
	m := do(t, "/metrics", "")
	for _, want := range []string{`caddy_llm_router_cache_requests_total{result="hit"}`, `caddy_llm_router_cache_requests_total{result="miss"}`} {
		if !strings.Contains(string(m.Body), want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(string(m.Body), "cache"))
		}
	}
}

// TestCacheRedisSharedByTwoInstances: two Caddy processes with the cache
// in one redis-server: an answer one stored is a hit at the other, and
// identical requests arriving at both while the first is upstream send
// one upstream request in all.
func TestCacheRedisSharedByTwoInstances(t *testing.T) {
	srv := redistest.Start(t)
	up := fakeupstream.NewOpenAI(t, "gpt")
	site := router(upTarget("gpt", up) + "cache 5m {\n redis " + srv.URL + "\n}")
	a, b := startCaddy(t, site), startCaddy(t, site)
	path := "/v1/chat/completions"

	body := cacheChat(t)
	first := sendTo(t, a.base, path, body)
	expectStatus(t, first, 200)
	other := sendTo(t, b.base, path, body)
	if other.Status != 200 || other.Header.Get("X-LLM-Cache") != "hit" || string(other.Body) != string(first.Body) || up.Count() != 1 {
		t.Fatalf("at the other instance: %d %s, %d upstream calls\n%s", other.Status, other.Header.Get("X-LLM-Cache"), up.Count(), other.Body)
	}
	// A streamed request at the other instance: the stored answer as events.
	s := sendTo(t, b.base, path, strings.Replace(body, `"messages"`, `"stream":true,"messages"`, 1))
	if s.Header.Get("X-LLM-Cache") != "hit" || !strings.HasSuffix(string(s.Body), "data: [DONE]\n\n") || up.Count() != 1 {
		t.Errorf("streamed at the other instance: %s, %d calls\n%s", s.Header.Get("X-LLM-Cache"), up.Count(), s.Body)
	}

	body = cacheChat(t, `"seed":1`)
	hold := make(chan struct{})
	up.Script(fakeupstream.Step{Hold: hold})
	leader := make(chan result, 1)
	go func() { leader <- sendTo(t, a.base, path, body) }()
	if !up.WaitRequests(2, 10*time.Second) {
		t.Fatal("the first request did not reach the upstream")
	}
	const n = 6
	var wg, sent sync.WaitGroup
	results := make([]result, n)
	for i := range n {
		wg.Add(1)
		sent.Add(1)
		p := []*caddyProc{a, b}[i%2]
		go func() {
			defer wg.Done()
			results[i] = sendWrittenTo(p.base, path, body, sent.Done)
		}()
	}
	sent.Wait()
	close(hold)
	lead := <-leader
	wg.Wait()
	expectStatus(t, lead, 200)
	if up.Count() != 2 {
		t.Errorf("%d upstream requests for %d identical ones at two instances, want 1", up.Count()-1, n+1)
	}
	for i, r := range results {
		if r.Status != 200 || r.Header.Get("X-LLM-Cache") != "hit" || string(r.Body) != string(lead.Body) {
			t.Errorf("request %d: %d %s\n%s", i, r.Status, r.Header.Get("X-LLM-Cache"), r.Body)
		}
	}
}

// sendWrittenTo is sendWritten to another Caddy.
func sendWrittenTo(baseURL, path, body string, written func()) result {
	var once sync.Once
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(written) }}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	once.Do(written)
	if err != nil {
		return result{Body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, b}
}

// TestCacheClientKeys: without router keys, a client's own key may be
// forwarded upstream (bring your own key), so an answer stored for one
// client key is not served to a client with another key.
func TestCacheClientKeys(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	load(t, router("target gpt {\n base_url "+up.BaseURL()+"\n}\ncache"))
	body := cacheChat(t)
	for i, tc := range []struct{ key, want string }{{"sk-one", "miss"}, {"sk-two", "miss"}, {"sk-one", "hit"}, {"sk-two", "hit"}} {
		r := do(t, "/v1/chat/completions", body, "Authorization", "Bearer "+tc.key)
		expectStatus(t, r, 200)
		if r.Header.Get("X-LLM-Cache") != tc.want {
			t.Errorf("request %d with %s: %s, want %s", i, tc.key, r.Header.Get("X-LLM-Cache"), tc.want)
		}
	}
	if up.Count() != 2 {
		t.Errorf("%d upstream calls, want 2", up.Count())
	}
}

// TestCacheUsageCost: with usage_cost, a hit's usage says it cost 0, in the
// form stored and converted.
func TestCacheUsageCost(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "gpt")
	load(t, router(upTarget("gpt", up, "price gpt-* 1 2")+"usage_cost\ncache"))
	body := cacheChat(t)
	miss := do(t, "/v1/chat/completions", body)
	expectStatus(t, miss, 200)
	if miss.json("usage.cost").Float() <= 0 {
		t.Fatalf("the miss has no cost: %s", miss.Body)
	}
	hit := do(t, "/v1/chat/completions", body)
	if hit.Header.Get("X-LLM-Cache") != "hit" || !hit.json("usage.cost").Exists() || hit.json("usage.cost").Float() != 0 ||
		hit.json("usage.total_tokens").Int() != miss.json("usage.total_tokens").Int() {
		t.Errorf("hit: %s %s", hit.Header.Get("X-LLM-Cache"), hit.Body)
	}
	s := do(t, "/v1/chat/completions", strings.Replace(body, `"messages"`, `"stream":true,"stream_options":{"include_usage":true},"messages"`, 1))
	if s.Header.Get("X-LLM-Cache") != "hit" || !strings.Contains(string(s.Body), `"cost":0`) || up.Count() != 1 {
		t.Errorf("streamed hit: %s, %d calls\n%s", s.Header.Get("X-LLM-Cache"), up.Count(), s.Body)
	}
}
