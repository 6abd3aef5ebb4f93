package integration

// SPEC section 6 (streaming) and the streaming rules of 5.3: each event
// flushed as it arrives (also behind `encode gzip`), retry/fallback only
// until the first byte, an SSE error event after it, in-stream errors,
// timeouts, usage injection and client disconnects.

import (
	"bufio"
	"compress/gzip"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// expectErrorEvent checks that a stream ended with an error event of the
// 4.3 shape with code (and, when set, type) and no [DONE].
func expectErrorEvent(t *testing.T, events []string, code, typ string) gjson.Result {
	t.Helper()
	if len(events) == 0 {
		t.Fatalf("empty stream")
	}
	for _, e := range events {
		if e == "[DONE]" {
			t.Fatalf("a failed stream sent [DONE]: %q", events)
		}
	}
	last := gjson.Get(events[len(events)-1], "error")
	if !last.IsObject() || !last.Get("message").Exists() || !last.Get("type").Exists() || !last.Get("param").Exists() || !last.Get("code").Exists() {
		t.Fatalf("stream did not end with an error event of the OpenAI shape: %q", events)
	}
	if got := last.Get("code").String(); got != code {
		t.Errorf("error event code %q, want %q: %s", got, code, last.Raw)
	}
	if typ != "" && last.Get("type").String() != typ {
		t.Errorf("error event type %q, want %q: %s", last.Get("type").String(), typ, last.Raw)
	}
	return last
}

// Each upstream event reaches the client before the upstream sends the
// next one.
func TestSpecStreamFlushEachEvent(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	gate := make(chan struct{})
	up.Script(fakeupstream.Step{Gate: gate, Chunks: 3})
	load(t, router(upTarget("a", up)))

	resp, s := streamChat(t, context.Background(), chat("m", `"stream":true`))
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	// The role chunk and tok0 are sent; tok1 waits for the gate.
	if c := s.untilContent(t, 5*time.Second); c != fakeupstream.StreamPiece(0) {
		t.Fatalf("first content %q", c)
	}
	gate <- struct{}{}
	if c := s.untilContent(t, 5*time.Second); c != fakeupstream.StreamPiece(1) {
		t.Fatalf("second content %q", c)
	}
	close(gate)
	rest := s.rest(t, 5*time.Second)
	if contents(rest) != fakeupstream.StreamPiece(2) || rest[len(rest)-1] != "[DONE]" {
		t.Errorf("rest of the stream: %q", rest)
	}
	if s.err != nil {
		t.Errorf("stream read error: %v", s.err)
	}
}

// The same through `encode gzip` in front of the router: the stream is
// compressed and still flushed event by event.
func TestSpecStreamFlushThroughEncodeGzip(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	gate := make(chan struct{})
	up.Script(fakeupstream.Step{Gate: gate, Chunks: 3})
	load(t, "encode gzip\n"+router(upTarget("a", up)))

	resp := open(t, context.Background(), http.MethodPost, "/v1/chat/completions", chat("m", `"stream":true`), "Accept-Encoding", "gzip")
	if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip (encode gzip in front of an event stream)", ce)
	}
	lines := make(chan string, 64)
	readErr := make(chan error, 1)
	go func() {
		defer close(lines)
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			readErr <- err
			return
		}
		sc := bufio.NewScanner(zr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		readErr <- sc.Err()
	}()
	waitContent := func(want string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("stream ended before %q", want)
				}
				if c := gjson.Get(strings.TrimPrefix(line, "data: "), "choices.0.delta.content").String(); c != "" {
					if c != want {
						t.Fatalf("content %q, want %q", c, want)
					}
					return
				}
			case <-deadline:
				t.Fatalf("content %q did not reach the gzip client before the upstream sent more", want)
			}
		}
	}
	waitContent(fakeupstream.StreamPiece(0))
	gate <- struct{}{}
	waitContent(fakeupstream.StreamPiece(1))
	close(gate)
	waitContent(fakeupstream.StreamPiece(2))
	sawDone := false
	for line := range lines {
		if line == "data: [DONE]" {
			sawDone = true
		}
	}
	if err := <-readErr; err != nil {
		t.Errorf("gzip stream: %v", err)
	}
	if !sawDone {
		t.Errorf("no [DONE] in the gzip stream")
	}
}

// A stream that fails before its first byte reached the client is retried
// (same target) or falls back (next candidate), and the client sees only
// the stream that succeeded.
func TestSpecStreamRetryBeforeFirstByte(t *testing.T) {
	cases := []struct {
		name   string
		step   fakeupstream.Step
		target string
		tries  string
	}{
		{"503 retried", fakeupstream.Step{Status: 503}, "a", "2"},
		{"401 next candidate", fakeupstream.Step{Status: 401}, "b", "2"},
		{"dropped after the status line", fakeupstream.Step{DropAtStart: true}, "", ""},
		{"error event as the first event", fakeupstream.Step{SSE: []string{`data: {"error":{"message":"overloaded","type":"server_error","param":null,"code":"overloaded"}}` + "\n\n"}}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := fakeupstream.NewOpenAI(t, "a")
			b := fakeupstream.NewOpenAI(t, "b")
			a.Script(c.step)
			load(t, router(fast+"retries 1\n"+upTarget("a", a)+upTarget("b", b)))
			resp, s := streamChat(t, context.Background(), chat("m", `"stream":true`))
			events := s.rest(t, 10*time.Second)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := contents(events); got != "tok0 tok1 tok2 " {
				t.Errorf("content %q: the failed attempt leaked into the stream, or the retry did not run", got)
			}
			roles := 0
			for _, e := range events {
				if gjson.Get(e, "choices.0.delta.role").Exists() {
					roles++
				}
				if gjson.Get(e, "error").Exists() {
					t.Errorf("error event reached the client of a retried stream: %s", e)
				}
			}
			if roles != 1 || events[len(events)-1] != "[DONE]" {
				t.Errorf("not exactly one clean stream: %q", events)
			}
			if resp.Header.Get("X-LLM-Attempts") != "2" {
				t.Errorf("X-LLM-Attempts %q, want 2", resp.Header.Get("X-LLM-Attempts"))
			}
			if c.target != "" && resp.Header.Get("X-LLM-Target") != c.target {
				t.Errorf("X-LLM-Target %q, want %q", resp.Header.Get("X-LLM-Target"), c.target)
			}
		})
	}
}

// After the first byte, an upstream failure ends the stream with an SSE
// error event (code upstream_error), no [DONE], no retry and no fallback,
// and the connection closes cleanly.
func TestSpecStreamFailureAfterFirstByte(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	a.Script(fakeupstream.Step{DropAfter: 1, Chunks: 3})
	load(t, router(fast+"retries 2\nfallback b\n"+upTarget("a", a, "api_key sk-secret-upstream-key")+upTarget("b", b)))
	resp, s := streamChat(t, context.Background(), chat("m", `"stream":true`))
	events := s.rest(t, 10*time.Second)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := contents(events); got != "tok0 " {
		t.Errorf("content before the failure %q", got)
	}
	e := expectErrorEvent(t, events, "upstream_error", "")
	if strings.Contains(e.Raw, "sk-secret-upstream-key") {
		t.Errorf("the upstream key leaked into the error event: %s", e.Raw)
	}
	if s.err != nil {
		t.Errorf("the connection did not close cleanly: %v", s.err)
	}
	expectCounts(t, map[*fakeupstream.Server]int{a: 1, b: 0})
}

// A target's timeout running out in the middle of a stream ends it with an
// error event of code upstream_timeout, and cancels the upstream request.
func TestSpecStreamTimeoutMidStream(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	a.Script(fakeupstream.Step{HangAfter: 1, Chunks: 3})
	load(t, router(fast+upTarget("a", a, "timeout 400ms")))
	_, s := streamChat(t, context.Background(), chat("m", `"stream":true`))
	events := s.rest(t, 10*time.Second)
	if got := contents(events); got != "tok0 " {
		t.Errorf("content before the timeout %q", got)
	}
	expectErrorEvent(t, events, "upstream_timeout", "")
	if s.err != nil {
		t.Errorf("the connection did not close cleanly: %v", s.err)
	}
	waitGone(t, a.Last(), 2*time.Second, "the timed-out stream")
	if a.Count() != 1 {
		t.Errorf("a stream that had started was retried: %d requests", a.Count())
	}
}

// An error object that the upstream sends inside a 200 stream is passed on
// as the error event (keeping its type and code), never as content, and
// the stream ends without [DONE].
func TestSpecStreamInStreamErrorEvent(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	a.Script(fakeupstream.Step{ErrorAfter: 2, Chunks: 4})
	load(t, router(fast+"retries 2\n"+upTarget("a", a)+upTarget("b", b)))
	_, s := streamChat(t, context.Background(), chat("m", `"stream":true`))
	events := s.rest(t, 10*time.Second)
	if got := contents(events); got != "tok0 tok1 " {
		t.Errorf("content %q", got)
	}
	e := expectErrorEvent(t, events, "internal_error", "server_error")
	if !strings.Contains(e.Get("message").String(), "fake in-stream failure") {
		t.Errorf("error event lost the upstream's message: %s", e.Raw)
	}
	expectCounts(t, map[*fakeupstream.Server]int{a: 1, b: 0})

	// vLLM's shape: {"error":{"object":"error",…,"code":400}} after content.
	a.Script(fakeupstream.Step{SSE: []string{
		`data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"partial"},"finish_reason":null}]}` + "\n\n",
		`data: {"error":{"object":"error","message":"prompt too long for this model","type":"BadRequestError","param":null,"code":400}}` + "\n\n",
	}})
	_, s = streamChat(t, context.Background(), chat("m", `"stream":true`))
	events = s.rest(t, 10*time.Second)
	if got := contents(events); got != "partial" {
		t.Errorf("content %q", got)
	}
	e = expectErrorEvent(t, events, "400", "BadRequestError")
	if !strings.Contains(e.Get("message").String(), "prompt too long") {
		t.Errorf("error event lost the upstream's message: %s", e.Raw)
	}
}

// include_usage: the router asks the upstream for usage and strips the usage
// chunk for a client that did not ask (also one that said false); a client
// that asked gets it as the last chunk before [DONE].
func TestSpecStreamUsageInjection(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	load(t, router(upTarget("a", a)))
	for _, opts := range []string{"", `"stream_options":{"include_usage":false}`} {
		extra := []string{`"stream":true`}
		if opts != "" {
			extra = append(extra, opts)
		}
		_, s := streamChat(t, context.Background(), chat("m", extra...))
		events := s.rest(t, 10*time.Second)
		if !gjson.GetBytes(a.Last().Body, "stream_options.include_usage").Bool() {
			t.Errorf("upstream not asked for usage: %s", a.Last().Body)
		}
		for _, e := range events {
			if gjson.Get(e, "usage").IsObject() {
				t.Errorf("usage chunk reached a client that did not ask (%s): %s", opts, e)
			}
		}
		if contents(events) != "tok0 tok1 tok2 " || events[len(events)-1] != "[DONE]" {
			t.Errorf("stream %q", events)
		}
	}
	_, s := streamChat(t, context.Background(), chat("m", `"stream":true`, `"stream_options":{"include_usage":true}`))
	events := s.rest(t, 10*time.Second)
	if n := len(events); n < 2 || events[n-1] != "[DONE]" ||
		gjson.Get(events[n-2], "usage.prompt_tokens").Int() != fakeupstream.FakePromptTokens ||
		gjson.Get(events[n-2], "choices.#").Int() != 0 {
		t.Errorf("usage is not the last chunk before [DONE]: %q", events)
	}

	// The legacy completions endpoint streams the same way.
	resp := open(t, context.Background(), http.MethodPost, "/v1/completions", `{"model":"m","prompt":"hi","stream":true}`)
	s = readEvents(resp.Body)
	events = s.rest(t, 10*time.Second)
	if !gjson.GetBytes(a.Last().Body, "stream_options.include_usage").Bool() {
		t.Errorf("completions stream: upstream not asked for usage: %s", a.Last().Body)
	}
	var text strings.Builder
	for _, e := range events {
		if gjson.Get(e, "usage").IsObject() {
			t.Errorf("completions stream: usage chunk reached a client that did not ask: %s", e)
		}
		text.WriteString(gjson.Get(e, "choices.0.text").String())
	}
	if text.String() != "tok0 tok1 tok2 " || events[len(events)-1] != "[DONE]" {
		t.Errorf("completions stream %q", events)
	}
}

// A streaming client that disconnects cancels the upstream stream at once.
func TestSpecStreamClientDisconnectCancelsUpstream(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	a.Script(fakeupstream.Step{HangAfter: 1, Chunks: 3})
	load(t, router(upTarget("a", a)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, s := streamChat(t, ctx, chat("m", `"stream":true`))
	if c := s.untilContent(t, 5*time.Second); c != fakeupstream.StreamPiece(0) {
		t.Fatalf("first content %q", c)
	}
	cancel()
	waitGone(t, a.Last(), 2*time.Second, "streaming client disconnected")
}
