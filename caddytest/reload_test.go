package integration

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// A target in cooldown stays skipped after the config is reloaded through
// the admin API: health lives in state shared across configs.
func TestReloadKeepsCooldown(t *testing.T) {
	broken := fakeupstream.NewOpenAI(t, "broken").Always(fakeupstream.Step{Status: 500})
	good := fakeupstream.NewOpenAI(t, "good")
	cfg := func(extra string) string {
		return router(`
		target broken {
			base_url ` + broken.BaseURL() + `
		}
		target good {
			base_url ` + good.BaseURL() + `
		}
		model m {
			strategy fallback
			to broken
			to good
		}
		retries 0
		cooldown 1 1m
		` + extra)
	}
	load(t, cfg(""))
	r := do(t, "/v1/chat/completions", chat("m"))
	if r.Status != 200 || r.Header.Get("X-LLM-Attempts") != "2" || broken.Count() != 1 {
		t.Fatalf("first request: %d attempts %s broken %d", r.Status, r.Header.Get("X-LLM-Attempts"), broken.Count())
	}
	load(t, cfg("max_request_body 16MiB")) // a different config: a real reload
	r = do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	if broken.Count() != 1 || r.Header.Get("X-LLM-Attempts") != "1" || r.Header.Get("X-LLM-Target") != "good" {
		t.Fatalf("after reload the cooling target was tried again: broken got %d, attempts %s", broken.Count(), r.Header.Get("X-LLM-Attempts"))
	}
}

// A target removed from the config loses its state: added back, it starts
// healthy.
func TestReloadDropsRemovedTarget(t *testing.T) {
	flaky := fakeupstream.NewOpenAI(t, "flaky").Script(fakeupstream.Step{Status: 500})
	good := fakeupstream.NewOpenAI(t, "good")
	with := router(`
		target flaky {
			base_url ` + flaky.BaseURL() + `
		}
		target good {
			base_url ` + good.BaseURL() + `
		}
		model m {
			strategy fallback
			to flaky
			to good
		}
		retries 0
		cooldown 1 1m`)
	load(t, with)
	expectStatus(t, do(t, "/v1/chat/completions", chat("m")), 200) // flaky fails → cooldown
	load(t, router(`
		target good {
			base_url `+good.BaseURL()+`
		}`))
	load(t, with)
	r := do(t, "/v1/chat/completions", chat("m"))
	if r.Header.Get("X-LLM-Target") != "flaky" {
		t.Fatalf("a re-added target kept its old cooldown: answered by %s", r.Header.Get("X-LLM-Target"))
	}
}

// An invalid config posted to the admin API is refused, and the running
// config keeps serving.
func TestInvalidReloadKeepsServing(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router(`
		target a {
			base_url `+up.BaseURL()+`
		}`))
	status, msg := postConfig(t, siteConfig(router(`
		target a {
			base_url `+up.BaseURL()+`
			weight -3
		}`)))
	if status == 200 || !strings.Contains(msg, "weight") || !strings.Contains(msg, "Caddyfile:") {
		t.Fatalf("bad config answered %d %s", status, msg)
	}
	status, msg = postConfig(t, siteConfig(router(`
		target a {
			provider azure
		}`)))
	if status == 200 || !strings.Contains(msg, "base_url") {
		t.Fatalf("config failing provision answered %d %s", status, msg)
	}
	expectStatus(t, do(t, "/v1/chat/completions", chat("m")), 200)
}

// {env.X} in api_key is expanded at provision; the secret is in neither the
// running config the admin API shows, nor the autosaved config, nor the
// answer to the client.
func TestEnvKeyNotInConfig(t *testing.T) {
	const secret = "sk-env-secret-4f9a1c"
	t.Setenv("LLMR_TEST_SECRET_KEY", secret)
	up := fakeupstream.NewOpenAI(t, "a").Script(fakeupstream.Step{Status: 401, Body: `{"error":{"message":"Incorrect API key provided: ` + secret + `","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`})
	load(t, router(`
		target a {
			base_url `+up.BaseURL()+`
			api_key {env.LLMR_TEST_SECRET_KEY}
		}`))
	r := do(t, "/v1/chat/completions", chat("m"))
	if got := up.Last().Header.Get("Authorization"); got != "Bearer "+secret {
		t.Fatalf("upstream got Authorization %q", got)
	}
	if strings.Contains(string(r.Body), secret) {
		t.Fatalf("the key leaked into the answer: %s", r.Body)
	}
	expectStatus(t, r, 401)
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/config/", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(cfg), secret) || !strings.Contains(string(cfg), "{env.LLMR_TEST_SECRET_KEY}") {
		t.Fatalf("running config holds the secret or lost the placeholder: %s", cfg)
	}
	if dir, err := os.UserConfigDir(); err == nil {
		if saved, err := os.ReadFile(dir + "/caddy/autosave.json"); err == nil && strings.Contains(string(saved), secret) {
			t.Fatal("autosave.json holds the secret")
		}
	}
}

// Reloading the config in a loop while clients send requests and hold
// streams loses no request and breaks no stream.
func TestReloadUnderTraffic(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a").Always(fakeupstream.Step{ChunkDelay: 10 * time.Millisecond, Chunks: 15})
	graceful := strings.Replace(globalOptions, "grace_period 1ns", "grace_period 1m", 1)
	cfg := func(weight int) string {
		return graceful + fmt.Sprintf(":%d {\n%s\n}\n", httpPort, router(fmt.Sprintf(`
		target a {
			base_url %s
			weight %d
		}
		target spare {
			provider mock
			weight 0
		}`, up.BaseURL(), weight)))
	}
	if status, msg := postConfig(t, cfg(1)); status != 200 {
		t.Fatalf("load: %d %s", status, msg)
	}
	eventually(t, 10*time.Second, func() bool {
		resp, err := client.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(chat("m")))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, "the graceful config to serve")

	var (
		stop                       atomic.Bool
		completed, streams, failed atomic.Int64
		openStreams, spanning      atomic.Int64
		resets                     atomic.Int64
		mu                         sync.Mutex
		failures                   []string
		wg                         sync.WaitGroup
	)
	send := func(id, i int, body string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		// Marks the POST safe to resend on a keep-alive connection that an
		// old server closes at the moment of a reload.
		req.Header.Set("Idempotency-Key", fmt.Sprintf("w%d-%d", id, i))
		return client.Do(req)
	}
	fail := func(format string, args ...any) {
		failed.Add(1)
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	// reachedRouter reports whether a request with this marker in its body
	// got to the upstream, i.e. through the router.
	reachedRouter := func(marker string) bool {
		for _, r := range up.Requests() {
			if strings.Contains(string(r.Body), marker) {
				return true
			}
		}
		return false
	}
	worker := func(id int) {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			stream := i%2 == 0
			marker := fmt.Sprintf(`"user":"w%d-%d"`, id, i)
			body := chat("m", marker)
			if stream {
				body = chat("m", marker, `"stream":true`)
			}
			resp, err := send(id, i, body)
			for tries := 0; tries < 3 && err != nil && !reachedRouter(marker); tries++ {
				// Caddy re-binds its listener with SO_REUSEPORT at every
				// reload; the kernel resets connections still queued on the
				// old socket (LWN 542629). The request never reached the
				// router; clients (OpenAI SDKs too) resend it.
				resets.Add(1)
				resp, err = send(id, i, body)
			}
			if err != nil {
				fail("worker %d request %d: %v", id, i, err)
				continue
			}
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				fail("worker %d request %d: %d %s", id, i, resp.StatusCode, b)
				continue
			}
			if stream {
				openStreams.Add(1)
				events := readSSE(t, resp)
				openStreams.Add(-1)
				resp.Body.Close()
				if len(events) == 0 || events[len(events)-1].Data != "[DONE]" || !strings.HasPrefix(contentOf(events), "tok0 tok1") || strings.Count(contentOf(events), "tok") != 15 {
					fail("worker %d stream %d incomplete: %d events, content %q", id, i, len(events), contentOf(events))
					continue
				}
				streams.Add(1)
			} else {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			completed.Add(1)
		}
	}
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go worker(i)
	}
	for reload := 0; reload < 6; reload++ {
		before := completed.Load()
		eventually(t, 30*time.Second, func() bool { return completed.Load() >= before+4 || failed.Load() > 0 }, "traffic between reloads")
		// Reload while streams are open, so they span the reload.
		eventually(t, 30*time.Second, func() bool { return openStreams.Load() > 0 }, "an open stream")
		spanning.Add(openStreams.Load())
		if status, msg := postConfig(t, cfg(1+reload%2)); status != 200 {
			t.Fatalf("reload %d: %d %s", reload, status, msg)
		}
	}
	before := completed.Load()
	eventually(t, 30*time.Second, func() bool { return completed.Load() >= before+4 || failed.Load() > 0 }, "traffic after the last reload")
	stop.Store(true)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d failed requests during reloads, e.g. %v", failed.Load(), failures[:min(3, len(failures))])
	}
	if streams.Load() < 4 || spanning.Load() < 6 {
		t.Fatalf("only %d streams completed, %d open across a reload", streams.Load(), spanning.Load())
	}
	t.Logf("%d requests (%d streams) completed across 6 reloads; %d connections reset by the listener hand-off before reaching the router, resent",
		completed.Load(), streams.Load(), resets.Load())
}
