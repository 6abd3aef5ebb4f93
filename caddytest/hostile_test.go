package integration

// Issue 8: one request must never kill the gateway, no secret may leak in
// any encoding, and memory stays bounded by configuration. Each defect of
// that issue is a regression test here, against a real Caddy.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// loadLogged loads a site with the router's own log and the access log
// written, at debug level, to a file it returns.
func loadLogged(t *testing.T, site string) string {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "caddy.log")
	global := strings.TrimSuffix(strings.TrimSpace(globalOptions), "}") +
		fmt.Sprintf("\tlog {\n\t\toutput file %s\n\t\tlevel DEBUG\n\t\tformat json\n\t}\n}\n", logPath)
	cfg := global + fmt.Sprintf(":%d {\n\tlog {\n\t\toutput file %s\n\t\tformat json\n\t}\n%s\n}\n", httpPort, logPath, site)
	status, msg := postConfig(t, cfg)
	if status != http.StatusOK {
		t.Fatalf("load: %d %s", status, msg)
	}
	return logPath
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Defect 1: a body nested 10 million levels deep is refused with 400, at
// once, and the server stays up.
func TestHostileDeepNesting(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router(upTarget("a", up)))
	for _, tc := range []struct {
		open string
		n    int
	}{{"[", 10_000_000}, {`{"a":`, 6_000_000}} {
		body := `{"model":"x","messages":` + strings.Repeat(tc.open, tc.n)
		r := do(t, "/v1/chat/completions", body)
		expectError(t, r, 400, "invalid_request")
		if !strings.Contains(r.json("error.message").Str, "nested") {
			t.Fatalf("message %s", r.Body)
		}
	}
	// 1,000 levels are fine; 1,001 are not.
	ok := `{"model":"x","messages":[{"role":"user","content":"hi"}],"x":` + strings.Repeat("[", 998) + strings.Repeat("]", 998) + `}`
	expectStatus(t, do(t, "/v1/chat/completions", ok), 200)
	deep := `{"model":"x","messages":[{"role":"user","content":"hi"}],"x":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`
	expectError(t, do(t, "/v1/chat/completions", deep), 400, "invalid_request")
	if up.Count() != 1 {
		t.Fatalf("upstream saw %d requests", up.Count())
	}
	expectStatus(t, do(t, "/v1/chat/completions", chat("x")), 200)
}

// Defect 2 and 12: a model that is not valid UTF-8, has control
// characters or is longer than 256 bytes is refused before any upstream
// call, and never echoed in a header.
func TestHostileModelNames(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	load(t, router(upTarget("a", up, "models gpt-*")))
	for _, model := range []string{"gpt-4o\xff", "gpt-4o\x00", "gpt-" + strings.Repeat("x", 1<<20)} {
		body := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
		for _, stream := range []string{"false", "true"} {
			r := do(t, "/v1/chat/completions", strings.Replace(body, `{"model"`, `{"stream":`+stream+`,"model"`, 1))
			expectError(t, r, 400, "invalid_request")
			if len(r.Header.Get("X-LLM-Model")) > 0 || len(r.Body) > 4096 {
				t.Fatalf("model echoed: header %d bytes, body %d bytes", len(r.Header.Get("X-LLM-Model")), len(r.Body))
			}
		}
	}
	if up.Count() != 0 {
		t.Fatalf("upstream called %d times", up.Count())
	}
	expectStatus(t, do(t, "/v1/chat/completions", chat("gpt-4o")), 200)
}

// Defect 7: `..` cannot climb an upstream path.
func TestHostileAzureTraversal(t *testing.T) {
	up := fakeupstream.NewAzure(t, "az")
	load(t, router(fmt.Sprintf(`target az {
		provider azure
		base_url %s
		api_key az-key-0123456789
	}`, up.URL)))
	for _, model := range []string{"az/..", "az/.", "[az]..", "../../x"} {
		expectError(t, do(t, "/v1/chat/completions", chat(model)), 400, "invalid_request")
	}
	if up.Count() != 0 {
		t.Fatalf("upstream reached: %s", up.Last().Path)
	}
}

// echoUpstream answers every request with an error that echoes the
// credentials it received: in headers, in a JSON body (raw and
// JSON-escaped), and in a text body where the key crosses the 200-byte
// mark that messages used to be cut at.
func echoUpstream(t *testing.T, mode *atomic.Value, alsoEcho ...string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		extra := r.Header.Get("Helicone-Auth") + " " + strings.Join(alsoEcho, " ")
		w.Header().Set("X-Echo-Key", key)
		w.Header().Set("X-Request-Id", "req-"+extra)
		w.Header().Set("Retry-After", "0")
		escaped := strings.ReplaceAll(key, "-", `\u002d`)
		escaped = strings.Replace(escaped, "sk", `s\u006b`, 1)
		switch mode.Load().(string) {
		case "json":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"error":{"message":"bad key %s, also %s and %s","type":"invalid_request_error","code":"invalid_api_key"}}`, key, escaped, extra)
		case "slash":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(403)
			fmt.Fprintf(w, `{"error":{"message":"key %s \/ %s","code":"x"}}`, strings.ReplaceAll(key, "/", `\/`), strings.ReplaceAll(extra, "/", `\/`))
		case "text":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(500)
			fmt.Fprint(w, strings.Repeat("e", 190)+key+" and "+extra)
		case "stream":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, `data: {"id":"1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}`+"\n\n")
			fmt.Fprintf(w, `data: {"error":{"message":"stream broke for %s / %s","type":"server_error"}}`+"\n\n", key, extra)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Defects 3–6: every configured secret — api_key and `header` values,
// expanded from placeholders — is scrubbed from responses, error bodies,
// headers and every log line, in every encoding an upstream echoes it in.
func TestHostileSecretsNeverLeak(t *testing.T) {
	const apiKey = "sk-live-abcdefghijklmnopqrstuvwxyz0123456789"
	const headerSecret = "Bearer hel-secret/0123456789abcdef"
	const otherKey = "sk-ant-other-target-key-0987654321zyxw"
	const otherHeader = "gw-secret-header-value-55555"
	t.Setenv("LEAK_API_KEY", apiKey)
	t.Setenv("LEAK_HEADER", headerSecret)
	mode := &atomic.Value{}
	up := echoUpstream(t, mode, otherKey, otherHeader)
	// A second target's secrets, which the first target's upstream also
	// echoes (a shared proxy in between): every secret of the config is
	// scrubbed, whichever target answered.
	logPath := loadLogged(t, router(fmt.Sprintf(`target leaky {
		base_url %s
		api_key {env.LEAK_API_KEY}
		header Helicone-Auth "{env.LEAK_HEADER}"
		models gpt-*
	}
	target other {
		provider anthropic
		api_key %s
		header X-Gateway-Auth %s
		models claude-*
	}
	retries 0
	cooldown 1 1m`, up.URL, otherKey, otherHeader)))
	secrets := []string{apiKey, headerSecret, "hel-secret/0123456789abcdef", apiKey[:24], `hel-secret\/0123456789`, otherKey, otherHeader}
	check := func(what string, b []byte) {
		t.Helper()
		s := string(b)
		decoded := gjson.Parse(s).String() // the JSON-escaped forms, decoded as a client would
		for _, secret := range secrets {
			if strings.Contains(s, secret) || strings.Contains(decoded, secret) || strings.Contains(strings.ReplaceAll(s, `\u002d`, "-"), secret) {
				t.Fatalf("%s leaks %q: %s", what, secret, s)
			}
		}
	}
	for _, m := range []string{"json", "slash", "text", "stream"} {
		mode.Store(m)
		for _, stream := range []bool{false, true} {
			r := do(t, "/v1/chat/completions", chat("gpt-4o", fmt.Sprintf(`"stream":%v`, stream)))
			if r.Status == 200 && m != "stream" {
				t.Fatalf("%s: status 200", m)
			}
			check(m+" body", r.Body)
			check(m+" headers", []byte(fmt.Sprint(r.Header)))
			if r.Status != 200 && r.Header.Get("X-Echo-Key") != "" {
				t.Fatalf("%s: upstream header X-Echo-Key passed on an error", m)
			}
			if (m == "json" || m == "slash") && r.Header.Get("X-Request-Id") == "" {
				t.Fatalf("%s: the request id header was dropped", m)
			}
		}
	}
	// The cooldown warning and the debug lines carry the failures too.
	eventually(t, 5*time.Second, func() bool { return strings.Contains(readLog(t, logPath), "target in cooldown") }, "the cooldown warning in the log")
	logs := readLog(t, logPath)
	if !strings.Contains(logs, "attempt failed") {
		t.Fatalf("no debug lines in the log:\n%s", logs)
	}
	check("log", []byte(logs))
}

// Defect 8: an upstream answer, or one SSE event, larger than
// max_response_body fails the attempt; memory stays bounded.
func TestHostileOversizedAnswers(t *testing.T) {
	big := strings.Repeat("x", 3<<20)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if gjson.GetBytes(body, "stream").Bool() {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, `data: {"id":"1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}`+"\n\n")
			w.(http.Flusher).Flush()
			fmt.Fprint(w, `data: {"id":"1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"`+big+`"}}]}`+"\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"`+big+`"},"finish_reason":"stop"}]}`)
	}))
	t.Cleanup(up.Close)
	load(t, router(fmt.Sprintf(`target big {
		base_url %s
	}
	retries 0
	max_response_body 1MiB`, up.URL)))
	r := do(t, "/v1/chat/completions", chat("m"))
	expectError(t, r, 502, "upstream_error")
	if !strings.Contains(r.json("error.message").Str, "max_response_body") {
		t.Fatalf("%s", r.Body)
	}
	// Streamed: the first event went out, then an error event ends it.
	resp := post(t, "/v1/chat/completions", chat("m", `"stream":true`))
	events := readSSE(t, resp)
	if len(events) != 2 || !strings.Contains(events[1].Data, `"error"`) || !strings.Contains(events[1].Data, "max_response_body") {
		t.Fatalf("events %v", events)
	}
}

// Defect 10: a 2xx that cannot be what was asked is a failed attempt —
// another target answers — and a streaming client never gets text/html.
func TestHostileWrong2xx(t *testing.T) {
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>captive portal</body></html>")
	}))
	t.Cleanup(html.Close)
	good := fakeupstream.NewOpenAI(t, "good")
	load(t, router(fmt.Sprintf(`target html {
		base_url %s
	}
	target good {
		base_url %s
		weight 0
	}
	retries 0`, html.URL, good.BaseURL())))
	for _, stream := range []bool{false, true} {
		r := do(t, "/v1/chat/completions", chat("m", fmt.Sprintf(`"stream":%v`, stream)))
		expectStatus(t, r, 200)
		if r.Header.Get("X-LLM-Target") != "good" || strings.Contains(r.Header.Get("Content-Type"), "html") {
			t.Fatalf("stream %v: target %s type %s", stream, r.Header.Get("X-LLM-Target"), r.Header.Get("Content-Type"))
		}
	}
	// Truncated JSON from the first target: the second answers.
	truncated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"cut of`)
	}))
	t.Cleanup(truncated.Close)
	load(t, router(fmt.Sprintf(`target cut {
		base_url %s
	}
	target good {
		base_url %s
		weight 0
	}
	retries 0`, truncated.URL, good.BaseURL())))
	r := do(t, "/v1/chat/completions", chat("m"))
	expectStatus(t, r, 200)
	if r.Header.Get("X-LLM-Target") != "good" || r.Header.Get("X-LLM-Attempts") != "2" {
		t.Fatalf("target %s attempts %s", r.Header.Get("X-LLM-Target"), r.Header.Get("X-LLM-Attempts"))
	}
	// A complete JSON answer to a streamed request arrives as a stream.
	jsonOnly := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"j","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"whole answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`)
	}))
	t.Cleanup(jsonOnly.Close)
	load(t, router(fmt.Sprintf(`target j {
		base_url %s
	}`, jsonOnly.URL)))
	resp := post(t, "/v1/chat/completions", chat("m", `"stream":true`, `"stream_options":{"include_usage":true}`))
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := readSSE(t, resp)
	if contentOf(events) != "whole answer" || events[len(events)-1].Data != "[DONE]" || !strings.Contains(events[len(events)-2].Data, `"total_tokens":5`) {
		t.Fatalf("events %v", events)
	}

	// Only the HTML target: a 502 naming it.
	load(t, router(fmt.Sprintf(`target html {
		base_url %s
	}
	retries 0`, html.URL)))
	r = do(t, "/v1/chat/completions", chat("m"))
	expectError(t, r, 502, "upstream_error")
	if !strings.Contains(r.json("error.message").Str, "text/html") {
		t.Fatalf("%s", r.Body)
	}
}

// Defect 11: a stream that stalls after its first event is ended by
// idle_timeout with an error event.
func TestHostileIdleTimeout(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "stall").Always(fakeupstream.Step{HangAfter: 1})
	load(t, router(upTarget("stall", up, "idle_timeout 300ms")))
	start := time.Now()
	resp := post(t, "/v1/chat/completions", chat("m", `"stream":true`))
	events := readSSE(t, resp)
	if len(events) < 2 || !strings.Contains(events[len(events)-1].Data, "upstream_timeout") || !strings.Contains(events[len(events)-1].Data, "idle_timeout") {
		t.Fatalf("events %v", events)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("took %s", took)
	}
}

// Defect 12: a client that does not send its body within the server's
// read timeouts gets 408 request_timeout.
func TestHostileBodyReadTimeout(t *testing.T) {
	up := fakeupstream.NewOpenAI(t, "a")
	cfg := strings.TrimSuffix(strings.TrimSpace(globalOptions), "}") +
		"\tservers {\n\t\ttimeouts {\n\t\t\tread_body 500ms\n\t\t}\n\t}\n}\n" +
		fmt.Sprintf(":%d {\n%s\n}\n", httpPort, router(upTarget("a", up)))
	if status, msg := postConfig(t, cfg); status != 200 {
		t.Fatalf("load %d %s", status, msg)
	}
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\":")
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 408 || gjson.GetBytes(body, "error.code").Str != "request_timeout" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

// Defect 12: an upstream killed under load puts its target in cooldown
// once, and the warning is logged once, not once per failed request.
func TestHostileCooldownLoggedOnce(t *testing.T) {
	logPath := loadLogged(t, router(fmt.Sprintf(`target dead {
		base_url %s
	}
	target alive {
		provider mock
		weight 0
	}
	retries 0
	cooldown 1 1m`, deadURL(t))))
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = do(t, "/v1/chat/completions", chat("m"))
		}()
	}
	wg.Wait()
	eventually(t, 5*time.Second, func() bool { return strings.Contains(readLog(t, logPath), "target in cooldown") }, "the cooldown warning")
	if n := strings.Count(readLog(t, logPath), `"target in cooldown"`); n != 1 {
		t.Fatalf("%d cooldown warnings", n)
	}
}

// Defect 9: request bodies sent chunked are read without growing buffers
// by copying: with 8 concurrent 31 MiB bodies the router allocates about
// twice their size while reading them (a chain of chunks, joined once) —
// growing a buffer step by step allocates about five times it, all of
// which is garbage a GC must catch up with (the 3× RSS peak of the
// issue) — and, once read, holds them once (live heap after a forced GC).
func TestHostileChunkedBodiesMemory(t *testing.T) {
	arrived := make(chan struct{}, 8)
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	t.Cleanup(up.Close)
	load(t, router(fmt.Sprintf(`target a {
		base_url %s
	}
	max_request_body 40MiB`, up.URL)))
	const n, size = 8, 31 << 20
	runtime.GC()
	before := heapBytes()
	allocsBefore := allocBytes()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Generated as it is sent: the client holds no copy.
			body := io.MultiReader(strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"`),
				&patternReader{left: size, h: sha256.New()}, strings.NewReader(`"}]}`))
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/v1/chat/completions", body)
			req.ContentLength = -1 // chunked
			resp, err := client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case <-arrived:
		case <-time.After(60 * time.Second):
			t.Fatal("bodies did not arrive upstream")
		}
	}
	allocated := int64(allocBytes() - allocsBefore)
	runtime.GC()
	runtime.GC() // a second cycle empties the pools' victim caches
	held := int64(heapBytes()) - int64(before)
	close(release)
	wg.Wait()
	t.Logf("%d bodies of %d MiB: %d MiB allocated while reading, %d MiB live after", n, size>>20, allocated>>20, held>>20)
	if allocated > n*size*5/2 {
		t.Fatalf("reading %d MiB of bodies allocated %d MiB", (n*size)>>20, allocated>>20)
	}
	if held > n*size*5/4 {
		t.Fatalf("the router holds %d MiB for %d MiB of bodies", held>>20, (n*size)>>20)
	}
}

func allocBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
