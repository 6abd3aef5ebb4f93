package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	llmrouter "github.com/llmrouter/caddy-llm-router"
)

// Full-path benchmarks of the four variants, for allocations per request:
// each handler is provisioned from the same Caddyfile lines as in the load
// benchmark and served in-process (no client connection) against the same
// fake upstreams over loopback. `go run ./bench` runs them with
// -benchmem; plain `go test ./...` runs none of them.

// The fake upstreams run in a child process (this test binary, re-run by
// TestMain in the upstream role), so that allocs/op counts the handler's
// allocations only, not the fake server's.
var (
	fakeOnce sync.Once
	fakeProc *exec.Cmd
	fakeAddr map[string]string
	fakeErr  error
)

const upstreamEnv = "LLMROUTER_BENCH_UPSTREAM_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(upstreamEnv); args != "" {
		runUpstream(strings.Fields(args))
		return
	}
	code := m.Run()
	if fakeProc != nil {
		_ = fakeProc.Process.Kill()
		_ = fakeProc.Wait()
	}
	os.Exit(code)
}

func fakeUpstream(b *testing.B, anthropic bool) string {
	fakeOnce.Do(func() {
		fakeAddr = map[string]string{}
		var args []string
		for _, name := range []string{"ctl", "openai", "anthropic"} {
			port, err := freePort()
			if err != nil {
				fakeErr = err
				return
			}
			fakeAddr[name] = fmt.Sprintf("127.0.0.1:%d", port)
			args = append(args, "-"+name, fakeAddr[name])
		}
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), upstreamEnv+"="+strings.Join(args, " "))
		cmd.Stderr = os.Stderr
		if fakeErr = cmd.Start(); fakeErr != nil {
			return
		}
		fakeProc = cmd
		for _, a := range fakeAddr {
			if fakeErr = waitTCP(a, 20*time.Second, nil); fakeErr != nil {
				return
			}
		}
		_, fakeErr = httpGet(fmt.Sprintf("http://%s/mode?chunks=%d", fakeAddr["ctl"], goBenchChunks), "", 10*time.Second)
	})
	if fakeErr != nil {
		b.Fatal(fakeErr)
	}
	if anthropic {
		return "http://" + fakeAddr["anthropic"]
	}
	return "http://" + fakeAddr["openai"]
}

var (
	loadOnce sync.Once
	loadErr  error
)

// caddyContext is the context of a running, empty Caddy config (admin
// off, logs at ERROR): reverse_proxy's Provision needs a config's apps.
func caddyContext(b *testing.B) caddy.Context {
	loadOnce.Do(func() {
		loadErr = caddy.Load([]byte(`{"admin":{"disabled":true},"logging":{"logs":{"default":{"level":"ERROR"}}}}`), true)
	})
	if loadErr != nil {
		b.Fatal(loadErr)
	}
	return caddy.ActiveContext()
}

type unmarshaler interface {
	caddyfile.Unmarshaler
	caddy.Provisioner
	caddyhttp.MiddlewareHandler
}

func provision(b *testing.B, h unmarshaler, block string) caddyhttp.MiddlewareHandler {
	b.Helper()
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(block)); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddyContext(b))
	b.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	if v, ok := h.(caddy.Validator); ok {
		if err := v.Validate(); err != nil {
			b.Fatal(err)
		}
	}
	if c, ok := h.(caddy.CleanerUpper); ok {
		b.Cleanup(func() { _ = c.Cleanup() })
	}
	return h
}

// sink is a client connection that keeps nothing.
type sink struct {
	h http.Header
	n int
}

func (d *sink) Header() http.Header         { return d.h }
func (d *sink) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *sink) WriteHeader(int)             {}
func (d *sink) Flush()                      {}

var nextNop = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })

func serveLoop(b *testing.B, h caddyhttp.MiddlewareHandler, model string, stream bool) {
	b.Helper()
	payload := chatBody(model, stream)
	w := &sink{h: make(http.Header)}
	srv := new(caddyhttp.Server) // reverse_proxy reads the server's log settings
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(payload))
		r.Header.Set("Content-Type", "application/json")
		repl := caddy.NewReplacer()
		r = caddyhttp.PrepareRequest(r, repl, w, srv)
		clear(w.h)
		w.n = 0
		if err := h.ServeHTTP(w, r, nextNop); err != nil {
			b.Fatal(err)
		}
		if w.n == 0 {
			b.Fatal("empty answer")
		}
	}
}

func reverseProxy(b *testing.B) caddyhttp.MiddlewareHandler {
	up := fakeUpstream(b, false)
	return provision(b, new(reverseproxy.Handler),
		"reverse_proxy "+strings.TrimPrefix(up, "http://")+" {\n flush_interval -1\n}")
}

func passthrough(b *testing.B) caddyhttp.MiddlewareHandler {
	up := fakeUpstream(b, false)
	return provision(b, new(llmrouter.Handler),
		"llm_router {\n target up {\n  provider openai\n  base_url "+up+"/v1\n  api_key bench-key\n }\n}")
}

func translation(b *testing.B) caddyhttp.MiddlewareHandler {
	if _, err := caddy.GetModule("http.llm_router.providers.anthropic"); err != nil {
		b.Skip("the anthropic provider is not registered")
	}
	up := fakeUpstream(b, true)
	return provision(b, new(llmrouter.Handler),
		"llm_router {\n target up {\n  provider anthropic\n  base_url "+up+"\n  api_key bench-key\n }\n}")
}

func mock(b *testing.B) caddyhttp.MiddlewareHandler {
	return provision(b, new(llmrouter.Handler),
		"llm_router {\n target fast {\n  provider mock\n  models bench-fast\n  mock_response \""+mockAnswer(goBenchChunks)+"\"\n }\n}")
}

func BenchmarkReverseProxy(b *testing.B)       { serveLoop(b, reverseProxy(b), "bench-fast", false) }
func BenchmarkReverseProxyStream(b *testing.B) { serveLoop(b, reverseProxy(b), "bench-fast", true) }
func BenchmarkPassthrough(b *testing.B)        { serveLoop(b, passthrough(b), "bench-fast", false) }
func BenchmarkPassthroughStream(b *testing.B)  { serveLoop(b, passthrough(b), "bench-fast", true) }
func BenchmarkAnthropic(b *testing.B)          { serveLoop(b, translation(b), "bench-fast", false) }
func BenchmarkAnthropicStream(b *testing.B)    { serveLoop(b, translation(b), "bench-fast", true) }
func BenchmarkMock(b *testing.B)               { serveLoop(b, mock(b), "bench-fast", false) }
func BenchmarkMockStream(b *testing.B)         { serveLoop(b, mock(b), "bench-fast", true) }
