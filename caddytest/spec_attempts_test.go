package integration

// SPEC section 5.3: attempts — retries, backoff, Retry-After, retry_on,
// next candidate, client errors, fallback, unsupported candidates,
// X-LLM-Attempts on errors, cooldown, timeouts and client disconnects.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/providers/openai"
)

// pickyProvider is an OpenAI-compatible provider that, like a provider of
// another wire format, cannot serve embeddings: it implements
// providers.Checker (SPEC 5.3, "a candidate that cannot serve the endpoint
// or a parameter is skipped without an attempt").
type pickyProvider struct{ openai.Provider }

func init() { caddy.RegisterModule(pickyProvider{}) }

func (pickyProvider) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.providers.spec_picky",
		New: func() caddy.Module { return new(pickyProvider) },
	}
}

func (pickyProvider) Check(c *llm.Call) error {
	if c.Op == llm.OpEmbeddings {
		return llm.Unsupported(c.Upstream.Name, "embeddings", "")
	}
	return nil
}

var _ providers.Checker = pickyProvider{}

// A failure in retry_on is retried on the same target up to `retries`
// times, then the request succeeds there.
func TestSpecAttemptsRetrySameTarget(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	a.FailTimes(2, 503, "")
	load(t, router(fast+"retries 2\n"+upTarget("a", a)+upTarget("b", b)))
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "a", "m", 3)
	expectCounts(t, map[*fakeupstream.Server]int{a: 3, b: 0})
}

// Once the retries are used up, the next candidate is tried.
func TestSpecAttemptsRetriesExhaustedThenNextCandidate(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	a.Always(fakeupstream.Step{Status: 502})
	load(t, router(fast+"retries 2\ncooldown 100 1m\n"+upTarget("a", a)+upTarget("b", b)))
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "b", "m", 4)
	expectCounts(t, map[*fakeupstream.Server]int{a: 3, b: 1})
	if !a.Last().At.Before(b.Last().At) {
		t.Errorf("b was tried before a's retries were used up")
	}
}

// The default retry_on: 429 500 502 503 504 529 timeout connect.
func TestSpecAttemptsDefaultRetryOn(t *testing.T) {
	for _, code := range []int{429, 500, 502, 503, 504, 529} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			a := fakeupstream.NewOpenAI(t, "a")
			b := fakeupstream.NewOpenAI(t, "b")
			a.FailTimes(1, code, "")
			load(t, router(fast+"retries 1\n"+upTarget("a", a)+upTarget("b", b)))
			r := do(t, "/v1/chat/completions", chat("m"))
			expectStatus(t, r, 200)
			expectRoute(t, r, "a", "m", 2)
			expectCounts(t, map[*fakeupstream.Server]int{a: 2, b: 0})
		})
	}
	t.Run("timeout", func(t *testing.T) {
		a := fakeupstream.NewOpenAI(t, "a")
		b := fakeupstream.NewOpenAI(t, "b")
		a.Script(fakeupstream.Step{Delay: time.Minute})
		load(t, router(fast+"retries 1\n"+upTarget("a", a, "timeout 200ms")+upTarget("b", b)))
		r := do(t, "/v1/chat/completions", chat("m"))
		expectStatus(t, r, 200)
		expectRoute(t, r, "a", "m", 2)
		expectCounts(t, map[*fakeupstream.Server]int{a: 2, b: 0})
	})
	t.Run("connect", func(t *testing.T) {
		b := fakeupstream.NewOpenAI(t, "b")
		load(t, router(fast+"retries 2\ncooldown 100 1m\ntarget dead {\n\tbase_url "+deadURL(t)+"\n}\n"+upTarget("b", b)))
		r := do(t, "/v1/chat/completions", chat("m"))
		expectStatus(t, r, 200)
		// Three attempts on the dead target, then b.
		expectRoute(t, r, "b", "m", 4)
	})
}

// An upstream Retry-After (seconds) up to the backoff max replaces the
// backoff, without jitter.
func TestSpecAttemptsRetryAfterWithinMax(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	a.FailTimes(1, 503, "1")
	load(t, router("retry_backoff 1ms 3s\nretries 1\n"+upTarget("a", a)))
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "a", "m", 2)
	reqs := a.Requests()
	if len(reqs) != 2 {
		t.Fatalf("a got %d requests, want 2", len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < time.Second || gap > 2500*time.Millisecond {
		t.Errorf("retry came %s after a Retry-After: 1, want 1s (no jitter, no backoff)", gap)
	}

	// The HTTP-date form: a date 2s ahead (whole seconds) means 1–2s.
	a.Reset()
	a.FailTimes(1, 429, time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
	r = do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "a", "m", 2)
	reqs = a.Requests()
	if len(reqs) != 2 {
		t.Fatalf("a got %d requests, want 2", len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 900*time.Millisecond || gap > 3500*time.Millisecond {
		t.Errorf("retry came %s after a Retry-After date 1-2s ahead", gap)
	}
}

// A Retry-After longer than the backoff max, on any failure, ends the
// attempts on that target for this request and puts it in cooldown for that
// long; both the seconds and the HTTP-date forms.
func TestSpecAttemptsRetryAfterBeyondMax(t *testing.T) {
	for _, c := range []struct {
		name       string
		status     int
		retryAfter string
	}{
		{"seconds on 429", 429, "120"},
		{"HTTP date on 503", 503, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)},
		{"seconds on 401", 401, "120"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := fakeupstream.NewOpenAI(t, "a")
			b := fakeupstream.NewOpenAI(t, "b")
			a.FailTimes(1, c.status, c.retryAfter)
			load(t, router(fast+"retries 2\ncooldown 100 1m\n"+upTarget("a", a)+upTarget("b", b)))
			r := do(t, "/v1/chat/completions", chat("m"))
			expectStatus(t, r, 200)
			expectRoute(t, r, "b", "m", 2)
			expectCounts(t, map[*fakeupstream.Server]int{a: 1, b: 1})
			// a is cooling down: the next request goes to b alone.
			r = do(t, "/v1/chat/completions", chat("m"))
			expectStatus(t, r, 200)
			expectRoute(t, r, "b", "m", 1)
			expectCounts(t, map[*fakeupstream.Server]int{a: 1, b: 2})
		})
	}
}

// retry_on replaces the default list; a 4xx listed there is retried on the
// same target; a 5xx or 429 not listed goes to the next candidate at once.
func TestSpecAttemptsRetryOnUserList(t *testing.T) {
	t.Run("listed 409 is retried", func(t *testing.T) {
		a := fakeupstream.NewOpenAI(t, "a")
		b := fakeupstream.NewOpenAI(t, "b")
		a.FailTimes(1, 409, "")
		load(t, router(fast+"retries 1\nretry_on 409 503\n"+upTarget("a", a)+upTarget("b", b)))
		r := do(t, "/v1/chat/completions", chat("m"))
		expectStatus(t, r, 200)
		expectRoute(t, r, "a", "m", 2)
		expectCounts(t, map[*fakeupstream.Server]int{a: 2, b: 0})
	})
	for _, code := range []int{500, 429} {
		t.Run(fmt.Sprintf("unlisted %d goes to the next candidate", code), func(t *testing.T) {
			a := fakeupstream.NewOpenAI(t, "a")
			b := fakeupstream.NewOpenAI(t, "b")
			a.FailTimes(1, code, "")
			load(t, router(fast+"retries 2\nretry_on 409 503\n"+upTarget("a", a)+upTarget("b", b)))
			r := do(t, "/v1/chat/completions", chat("m"))
			expectStatus(t, r, 200)
			expectRoute(t, r, "b", "m", 2)
			expectCounts(t, map[*fakeupstream.Server]int{a: 1, b: 1})
		})
	}
}

// Any other 5xx, and 401, 403, 404: the next candidate at once, no retry.
func TestSpecAttemptsNextCandidateAtOnce(t *testing.T) {
	for _, code := range []int{401, 403, 404, 501, 505} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			a := fakeupstream.NewOpenAI(t, "a")
			b := fakeupstream.NewOpenAI(t, "b")
			a.FailTimes(1, code, "")
			load(t, router(fast+"retries 2\n"+upTarget("a", a)+upTarget("b", b)))
			r := do(t, "/v1/chat/completions", chat("m"))
			expectStatus(t, r, 200)
			expectRoute(t, r, "b", "m", 2)
			expectCounts(t, map[*fakeupstream.Server]int{a: 1, b: 1})
		})
	}
}

// Other 4xx (the request itself is wrong) go back to the client at once,
// body unchanged, no retry, no fallback, and do not count against the
// target.
func TestSpecAttemptsClientErrorStraightBack(t *testing.T) {
	for _, code := range []int{400, 413, 422} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			a := fakeupstream.NewOpenAI(t, "a")
			b := fakeupstream.NewOpenAI(t, "b")
			fb := fakeupstream.NewOpenAI(t, "fb")
			body := fmt.Sprintf(`{"error":{"message":"bad request %d from a","type":"invalid_request_error","param":"messages","code":"custom_%d"}}`, code, code)
			a.Script(fakeupstream.Step{Status: code, Body: body})
			load(t, router(fast+"retries 2\ncooldown 1 1m\nfallback fb\n"+upTarget("a", a)+upTarget("b", b)+upTarget("fb", fb)))
			r := do(t, "/v1/chat/completions", chat("m"))
			expectStatus(t, r, code)
			if string(r.Body) != body {
				t.Errorf("upstream error body changed:\n got %s\nwant %s", r.Body, body)
			}
			expectRoute(t, r, "a", "m", 1)
			expectCounts(t, map[*fakeupstream.Server]int{a: 1, b: 0, fb: 0})
			// Not a failure of a (cooldown 1 would otherwise skip it now).
			r = do(t, "/v1/chat/completions", chat("m"))
			expectStatus(t, r, 200)
			expectRoute(t, r, "a", "m", 1)
		})
	}
}

// After every candidate failed, the fallback list is tried in order: a
// target name (the request's model, after its model_map, whatever its
// models say), an alias, `target/model`.
func TestSpecAttemptsFallbackList(t *testing.T) {
	main := fakeupstream.NewOpenAI(t, "main")
	fb1 := fakeupstream.NewOpenAI(t, "fb1")
	fb2 := fakeupstream.NewOpenAI(t, "fb2")
	main.Script(fakeupstream.Step{})
	main.Always(fakeupstream.Step{Status: 500})
	fb1.Always(fakeupstream.Step{Status: 503})
	load(t, router(fast+"retries 0\ncooldown 100 1m\nfallback fb1 rescue fb2/explicit\n"+
		upTarget("main", main, "models m")+
		upTarget("fb1", fb1, "models zzz", "model_map m m-fb1")+
		upTarget("fb2", fb2, "models zzz")+`
		model rescue {
			to fb2 alias-upstream
		}`))

	// No fallback while a candidate succeeds.
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "main", "m", 1)
	expectCounts(t, map[*fakeupstream.Server]int{main: 1, fb1: 0, fb2: 0})

	r = do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "fb2", "alias-upstream", 3)
	expectCounts(t, map[*fakeupstream.Server]int{main: 2, fb1: 1, fb2: 1})
	if got := upstreamModel(t, fb1, -1); got != "m-fb1" {
		t.Errorf("fallback target got model %q, want the request's model after model_map", got)
	}
	if !(main.Last().At.Before(fb1.Last().At) && fb1.Last().At.Before(fb2.Last().At)) {
		t.Errorf("fallbacks not tried in order")
	}

	fb2.Script(fakeupstream.Step{Status: 500})
	r = do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "fb2", "explicit", 4)
	if got := upstreamModel(t, fb2, -1); got != "explicit" {
		t.Errorf("target/model fallback got model %q", got)
	}
}

// A candidate that cannot serve the endpoint is skipped without an attempt;
// when none can, 400 unsupported naming the target and the parameter; when
// those that could all failed, their last failure decides.
func TestSpecAttemptsUnsupportedCandidate(t *testing.T) {
	p := fakeupstream.NewOpenAI(t, "picky")
	q := fakeupstream.NewOpenAI(t, "plain")
	picky := "target picky {\n\tprovider spec_picky\n\tbase_url " + p.BaseURL() + "\n}\n"
	load(t, router(fast+"retries 0\n"+picky+upTarget("plain", q)))
	r := do(t, "/v1/embeddings", `{"model":"m","input":"x"}`)
	expectStatus(t, r, 200)
	expectRoute(t, r, "plain", "m", 1)
	expectCounts(t, map[*fakeupstream.Server]int{p: 0, q: 1})
	r = do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "picky", "m", 1)

	load(t, router(fast+"retries 0\n"+picky))
	r = do(t, "/v1/embeddings", `{"model":"m","input":"x"}`)
	expectError(t, r, 400, "unsupported")
	if msg := r.json("error.message").String(); !strings.Contains(msg, "picky") || !strings.Contains(msg, "embeddings") {
		t.Errorf("unsupported message %q does not name the target and the parameter", msg)
	}
	expectHeader(t, r.Header, "X-LLM-Attempts", "")
	expectCounts(t, map[*fakeupstream.Server]int{p: 1})

	q.Always(fakeupstream.Step{Status: 503})
	load(t, router(fast+"retries 0\n"+picky+upTarget("plain", q)))
	r = do(t, "/v1/embeddings", `{"model":"m","input":"x"}`)
	expectError(t, r, 502, "upstream_error")
	expectRoute(t, r, "plain", "m", 1)
}

// X-LLM-Attempts is sent on errors too, with X-LLM-Target / X-LLM-Model
// naming the last target tried; not when no attempt was made.
func TestSpecAttemptsHeadersOnErrors(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	a.Always(fakeupstream.Step{Status: 500})
	b.Always(fakeupstream.Step{Status: 503})
	load(t, router(fast+"retries 1\ncooldown 100 1m\n"+upTarget("a", a, "models m")+upTarget("b", b, "models m", "model_map m m-on-b")))
	r := do(t, "/v1/chat/completions", chat("m"))
	expectError(t, r, 502, "upstream_error")
	expectRoute(t, r, "b", "m-on-b", 4)

	r = do(t, "/v1/chat/completions", chat("other"))
	expectError(t, r, 404, "model_not_found")
	for _, h := range []string{"X-LLM-Attempts", "X-LLM-Target", "X-LLM-Model"} {
		expectHeader(t, r.Header, h, "")
	}
}

// cooldown N D: after N failed attempts a target is skipped for D; it is
// tried anyway when nothing else is left; one success resets it.
func TestSpecAttemptsCooldown(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	a.Always(fakeupstream.Step{Status: 500})
	load(t, router(fast+"retries 0\ncooldown 2 1m\n"+upTarget("a", a)+upTarget("b", b)+`
		model only-a {
			to a
		}`))
	for i := 1; i <= 2; i++ {
		r := do(t, "/v1/chat/completions", chat("m"))
		expectStatus(t, r, 200)
		expectRoute(t, r, "b", "m", 2)
	}
	// Two failures: a is skipped now.
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "b", "m", 1)
	expectCounts(t, map[*fakeupstream.Server]int{a: 2, b: 3})

	// Nothing else left: a is tried anyway.
	r = do(t, "/v1/chat/completions", chat("only-a"))
	expectError(t, r, 502, "upstream_error")
	expectCounts(t, map[*fakeupstream.Server]int{a: 3})

	// One success resets it: a is first in line again.
	a.Always(fakeupstream.Step{})
	r = do(t, "/v1/chat/completions", chat("only-a"))
	expectStatus(t, r, 200)
	r = do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "a", "m", 1)
}

// What counts as a failure for the cooldown: connection errors, timeouts,
// 5xx, 401, 403, 404, 429.
func TestSpecAttemptsCooldownFailureKinds(t *testing.T) {
	for _, code := range []int{401, 403, 404, 429, 500, 501} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			a := fakeupstream.NewOpenAI(t, "a")
			b := fakeupstream.NewOpenAI(t, "b")
			a.FailTimes(1, code, "")
			load(t, router(fast+"retries 0\ncooldown 1 1m\n"+upTarget("a", a)+upTarget("b", b)))
			expectRoute(t, do(t, "/v1/chat/completions", chat("m")), "b", "m", 2)
			r := do(t, "/v1/chat/completions", chat("m"))
			expectStatus(t, r, 200)
			expectRoute(t, r, "b", "m", 1)
			expectCounts(t, map[*fakeupstream.Server]int{a: 1})
		})
	}
	t.Run("timeout", func(t *testing.T) {
		a := fakeupstream.NewOpenAI(t, "a")
		b := fakeupstream.NewOpenAI(t, "b")
		a.Script(fakeupstream.Step{Delay: time.Minute})
		load(t, router(fast+"retries 0\ncooldown 1 1m\n"+upTarget("a", a, "timeout 150ms")+upTarget("b", b)))
		expectRoute(t, do(t, "/v1/chat/completions", chat("m")), "b", "m", 2)
		expectRoute(t, do(t, "/v1/chat/completions", chat("m")), "b", "m", 1)
		expectCounts(t, map[*fakeupstream.Server]int{a: 1})
	})
	t.Run("connect", func(t *testing.T) {
		b := fakeupstream.NewOpenAI(t, "b")
		load(t, router(fast+"retries 0\ncooldown 1 1m\ntarget dead {\n\tbase_url "+deadURL(t)+"\n}\n"+upTarget("b", b)))
		expectRoute(t, do(t, "/v1/chat/completions", chat("m")), "b", "m", 2)
		expectRoute(t, do(t, "/v1/chat/completions", chat("m")), "b", "m", 1)
	})
}

// timeout bounds one attempt; when the last attempt timed out the client
// gets 504 upstream_timeout, and the timed-out upstream requests are
// cancelled.
func TestSpecAttemptsTimeout(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	a.Always(fakeupstream.Step{Delay: time.Minute})
	load(t, router(fast+"retries 1\n"+upTarget("a", a, "timeout 200ms")))
	start := time.Now()
	r := do(t, "/v1/chat/completions", chat("m"))
	expectError(t, r, 504, "upstream_timeout")
	expectRoute(t, r, "a", "m", 2)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("two attempts of 200ms took %s", d)
	}
	for _, req := range a.Requests() {
		waitGone(t, req, 2*time.Second, "a timed-out attempt")
	}
}

// first_byte_timeout bounds a streamed attempt until its first event: a
// silent stream falls to the next candidate; a stream that started in time
// may run longer; a non-streamed request is not bound by it.
func TestSpecAttemptsFirstByteTimeout(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	a.Script(fakeupstream.Step{HangAtStart: true})
	load(t, router(fast+"retries 0\ncooldown 100 1m\n"+upTarget("a", a, "first_byte_timeout 300ms")+upTarget("b", b)))

	resp, s := streamChat(t, context.Background(), chat("m", `"stream":true`))
	events := s.rest(t, 10*time.Second)
	if resp.StatusCode != 200 || contents(events) != "tok0 tok1 tok2 " || resp.Header.Get("X-LLM-Target") != "b" || resp.Header.Get("X-LLM-Attempts") != "2" {
		t.Fatalf("status %d, target %q, attempts %q, events %q", resp.StatusCode, resp.Header.Get("X-LLM-Target"), resp.Header.Get("X-LLM-Attempts"), events)
	}
	waitGone(t, a.Requests()[0], 2*time.Second, "the silent stream")

	// First event in time, whole stream longer than first_byte_timeout.
	a.Script(fakeupstream.Step{ChunkDelay: 150 * time.Millisecond, Chunks: 4})
	resp, s = streamChat(t, context.Background(), chat("m", `"stream":true`))
	events = s.rest(t, 10*time.Second)
	if contents(events) != "tok0 tok1 tok2 tok3 " || resp.Header.Get("X-LLM-Target") != "a" || events[len(events)-1] != "[DONE]" {
		t.Errorf("a stream that started in time was cut: target %q, events %q", resp.Header.Get("X-LLM-Target"), events)
	}

	// Not streamed: first_byte_timeout does not apply.
	a.Script(fakeupstream.Step{Delay: 500 * time.Millisecond})
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "a", "m", 1)
}

// A client that disconnects cancels its upstream request at once; its
// cancel does not count against the target.
func TestSpecAttemptsClientDisconnectCancelsUpstream(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	never := make(chan struct{})
	a.Script(fakeupstream.Step{Hold: never})
	load(t, router(fast+"retries 2\ncooldown 1 1m\n"+upTarget("a", a)+upTarget("b", b)))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", strings.NewReader(chat("m")))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	if !a.WaitRequests(1, 5*time.Second) {
		t.Fatal("the request never reached the upstream")
	}
	cancel()
	waitGone(t, a.Last(), 2*time.Second, "client disconnected")
	<-done
	// No retry and no next candidate for a client that left.
	if b.WaitRequests(1, 200*time.Millisecond) || a.Count() != 1 {
		t.Errorf("after the client left: a got %d requests, b %d", a.Count(), b.Count())
	}
	// The cancel was not a failure: with cooldown 1, a still answers.
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "a", "m", 1)
}

// A target skipped at its max_in_flight is not attempted and the skip is no
// failure: it answers again once a slot is free, even with cooldown 1.
func TestSpecAttemptsMaxInFlightSkipNotAFailure(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	hold := make(chan struct{})
	a.Script(fakeupstream.Step{Hold: hold})
	load(t, router(fast+"retries 0\ncooldown 1 1m\n"+upTarget("a", a, "max_in_flight 1")+upTarget("b", b)))
	done := make(chan int, 1)
	go func() {
		resp, err := client.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(chat("m")))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	if !a.WaitRequests(1, 5*time.Second) {
		t.Fatal("the first request never reached a")
	}
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "b", "m", 1)
	close(hold)
	if status := <-done; status != 200 {
		t.Errorf("held request: status %d", status)
	}
	r = do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "a", "m", 1)
}

// A streamed request whose only candidate stays silent past
// first_byte_timeout gets 504 upstream_timeout as a plain JSON error:
// nothing had been sent yet.
func TestSpecAttemptsFirstByteTimeoutLastCandidate(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	a.Always(fakeupstream.Step{HangAtStart: true})
	load(t, router(fast+"retries 0\n"+upTarget("a", a, "first_byte_timeout 200ms")))
	r := do(t, "/v1/chat/completions", chat("m", `"stream":true`))
	expectError(t, r, 504, "upstream_timeout")
	expectRoute(t, r, "a", "m", 1)
	waitGone(t, a.Last(), 2*time.Second, "the silent stream")
}
