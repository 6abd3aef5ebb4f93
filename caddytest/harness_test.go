// Package integration runs llm_router inside a real Caddy, started in this
// test process by Caddy's caddytest package, against local fake upstreams.
//
// caddytest binds fixed ports (admin localhost:2999, HTTP 9080), so every
// live-server test lives in this one package and none runs in parallel.
package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/tidwall/gjson"

	_ "github.com/llmrouter/caddy-llm-router"
)

// Ports of the test Caddy. caddytest's defaults are fixed (admin 2999),
// which breaks when two test processes run at once, so each process picks
// free ones.
var adminPort, httpPort, httpsPort = freePort(), freePort(), freePort()

// base is where the test Caddy serves the router.
var base = fmt.Sprintf("http://localhost:%d", httpPort)

// globalOptions precede every test Caddyfile.
var globalOptions = fmt.Sprintf(`{
	skip_install_trust
	admin localhost:%d
	http_port %d
	https_port %d
	grace_period 1ns
	auto_https off
}
`, adminPort, httpPort, httpsPort)

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testerConfig points caddytest at this process's admin port.
func testerConfig() caddytest.Config {
	return caddytest.Config{
		AdminPort:          adminPort,
		TestRequestTimeout: 30 * time.Second,
		LoadRequestTimeout: 10 * time.Second,
	}
}

// load (re)configures the test Caddy; body is placed inside the site block
// of base unless it starts with a site address of its own (a line starting
// with ':'; use httpPort).
func load(t *testing.T, body string) *caddytest.Tester {
	t.Helper()
	tester := caddytest.NewTester(t).WithDefaultOverrides(testerConfig())
	cfg := globalOptions
	if strings.HasPrefix(strings.TrimSpace(body), ":") {
		cfg += body
	} else {
		cfg += fmt.Sprintf(":%d {\n%s\n}\n", httpPort, body)
	}
	tester.InitServer(cfg, "caddyfile")
	started.Store(true)
	lastLoad.Store(time.Now().UnixNano())
	// The old server closed its idle keep-alive connections; a POST on one
	// of them would fail with EOF (Go does not resend a POST).
	client.CloseIdleConnections()
	if t.Failed() {
		t.FailNow()
	}
	return tester
}

// lastLoad is when the latest config was loaded (unix nanoseconds).
var lastLoad atomic.Int64

// loadSettle is how long after a load the previous server may still take
// connections from the listener it shares with the new one.
const loadSettle = 2 * time.Second

// doAfterLoad sends req with the test client. Right after a load the
// previous server still accepts connections on the shared listener until
// it stops, and with the 1ns grace period it then closes them unanswered:
// a request whose connection ends that way (EOF or reset before any
// response, within loadSettle of the load) is sent again, once, on a new
// connection. It never reached the new config.
func doAfterLoad(req *http.Request) (*http.Response, error) {
	resp, err := client.Do(req)
	if err == nil || time.Since(time.Unix(0, lastLoad.Load())) > loadSettle || req.Context().Err() != nil ||
		!(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		return resp, err
	}
	retry := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return resp, err
		}
		body, gerr := req.GetBody()
		if gerr != nil {
			return resp, err
		}
		retry.Body = body
	}
	return client.Do(retry)
}

// router wraps an llm_router block in a site.
func router(block string) string {
	return "llm_router {\n" + block + "\n}"
}

// client is used for requests to the router; no overall timeout (streams),
// tests bound their waits themselves.
var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}

// post sends a JSON body to path with optional header pairs.
func post(t *testing.T, path, body string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := doAfterLoad(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// result is a fully read response.
type result struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r result) json(path string) gjson.Result { return gjson.GetBytes(r.Body, path) }

// do posts and reads the whole answer, within the deadline of send.
func do(t *testing.T, path, body string, headers ...string) result {
	t.Helper()
	return send(t, context.Background(), http.MethodPost, path, body, headers...)
}

// chat is a chat request body for model with one user message.
func chat(model string, extra ...string) string {
	s := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}]`, model)
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// expectStatus fails unless r has the status.
func expectStatus(t *testing.T, r result, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
}

// expectError checks an error answer: status, the OpenAI error shape and
// the code.
func expectError(t *testing.T, r result, status int, code string) {
	t.Helper()
	expectStatus(t, r, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	e := gjson.GetBytes(r.Body, "error")
	if !e.IsObject() || !e.Get("message").Exists() || !e.Get("type").Exists() || !e.Get("param").Exists() || !e.Get("code").Exists() {
		t.Fatalf("not the OpenAI error shape: %s", r.Body)
	}
	if got := e.Get("code").String(); got != code {
		t.Fatalf("error code %q, want %q; body: %s", got, code, r.Body)
	}
}

// sseEvent is one event read from the router.
type sseEvent struct {
	Data string
	At   time.Time
}

// readSSE reads every `data:` payload of a stream until it ends.
func readSSE(t *testing.T, resp *http.Response) []sseEvent {
	t.Helper()
	var out []sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			out = append(out, sseEvent{Data: data, At: time.Now()})
		}
	}
	return out
}

// contentOf joins the delta contents of chat chunks.
func contentOf(events []sseEvent) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString(gjson.Get(e.Data, "choices.0.delta.content").String())
	}
	return b.String()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// caddytestLoadError loads a config that must be refused, and checks the
// error mentions want.
func caddytestLoadError(t *testing.T, body, want string) {
	t.Helper()
	status, msg := postConfig(t, globalOptions+fmt.Sprintf(":%d {\n%s\n}\n", httpPort, body))
	if status == http.StatusOK || !strings.Contains(msg, want) {
		t.Fatalf("load answered %d %s; want a refusal containing %q", status, msg, want)
	}
}

// postConfig loads a Caddyfile through the admin API, as `caddy reload`
// does, starting the test Caddy first if needed; it returns the answer.
func postConfig(t *testing.T, caddyfile string) (int, string) {
	t.Helper()
	if !started.Load() {
		load(t, "respond 204")
	}
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://localhost:%d/load", adminPort), strings.NewReader(caddyfile))
	req.Header.Set("Content-Type", "text/caddyfile")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("admin API: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	client.CloseIdleConnections()
	return resp.StatusCode, string(b)
}

// started is set once the test Caddy runs.
var started atomic.Bool

// siteConfig is a whole test Caddyfile with body in the site of base.
func siteConfig(body string) string {
	return globalOptions + fmt.Sprintf(":%d {\n%s\n}\n", httpPort, body)
}
