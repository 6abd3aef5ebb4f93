package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/tracing"
	_ "github.com/caddyserver/caddy/v2/modules/filestorage" // storage of the memory store's spend

	llmrouter "github.com/llmrouter/caddy-llm-router"
	"github.com/llmrouter/caddy-llm-router/internal/redistest"
	redisstore "github.com/llmrouter/caddy-llm-router/stores/redis"
)

// Full-path benchmarks of the variants, for allocations per request:
// each handler is provisioned from the same Caddyfile lines as in the load
// benchmark (routerBlock) and served in-process (no client connection)
// against the same fake upstreams over loopback. `go run ./bench` runs
// them with -benchmem; plain `go test ./...` runs none of them.

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
	// Caddy's storage (the memory store persists spend there) in a
	// temporary directory, not the user's.
	dir, err := os.MkdirTemp("", "llm-router-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	storageDir = dir
	code := m.Run()
	if fakeProc != nil {
		_ = fakeProc.Process.Kill()
		_ = fakeProc.Wait()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var storageDir string

// fakePorts starts the fake upstreams once and returns their ports as the
// load benchmark's config builders take them.
func fakePorts(b *testing.B) ports {
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
	port := func(name string) int {
		_, p, _ := strings.Cut(fakeAddr[name], ":")
		n, _ := strconv.Atoi(p)
		return n
	}
	return ports{ctl: port("ctl"), upRP: port("openai"), upOpenAI: port("openai"), upAnthropic: port("anthropic")}
}

var (
	loadOnce sync.Once
	loadErr  error
)

// caddyContext is the context of a running, empty Caddy config (admin
// off, logs at ERROR, storage in a temporary directory): reverse_proxy's
// Provision needs a config's apps.
func caddyContext(b *testing.B) caddy.Context {
	loadOnce.Do(func() {
		cfg, _ := json.Marshal(map[string]any{
			"admin":   map[string]any{"disabled": true},
			"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "ERROR"}}},
			"storage": map[string]any{"module": "file_system", "root": storageDir},
		})
		loadErr = caddy.Load(cfg, true)
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

// load is one benchmark's request: an API, a model, streamed or not, an
// extra header ("Name: value") and a body padded to size bytes (0: as is).
type load struct {
	api    string
	model  string // "" for bench-fast
	stream bool
	header string
	size   int
	// want, "Name: value", must be on every answer.
	want string
}

func serveLoop(b *testing.B, h caddyhttp.MiddlewareHandler, l load) {
	b.Helper()
	if l.model == "" {
		l.model = "bench-fast"
	}
	payload := requestBody(l.api, l.model, l.stream)
	if l.size > 0 {
		payload = padBody(payload, l.size)
	}
	w := &sink{h: make(http.Header)}
	srv := new(caddyhttp.Server) // reverse_proxy reads the server's log settings
	hname, hvalue, _ := strings.Cut(l.header, ":")
	wname, wvalue, _ := strings.Cut(l.want, ":")
	req := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, apiPath[l.api], bytes.NewReader(payload))
		r.Header.Set("Content-Type", "application/json")
		if l.api == apiMessages {
			r.Header.Set("anthropic-version", "2023-06-01")
		}
		if hname != "" {
			r.Header.Set(hname, strings.TrimSpace(hvalue))
		}
		return caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, srv)
	}
	serve := func() {
		clear(w.h)
		w.n = 0
		if err := h.ServeHTTP(w, req(), nextNop); err != nil {
			b.Fatal(err)
		}
		if w.n == 0 {
			b.Fatal("empty answer")
		}
		if wname != "" && w.h.Get(wname) != strings.TrimSpace(wvalue) {
			b.Fatalf("%s: %q, want %q", wname, w.h.Get(wname), strings.TrimSpace(wvalue))
		}
	}
	if wname != "" {
		// A first answer outside the loop: the cache's miss.
		want := wname
		wname = ""
		serve()
		wname = want
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	var cpu time.Duration
	for b.Loop() {
		if cpu == 0 {
			cpu = selfCPU()
		}
		serve()
	}
	// The process's CPU time per request: the handler's (the fake upstream
	// runs in a child process), its GC, and the benchmark loop's.
	b.ReportMetric(float64(selfCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchConfig is the load benchmark's config as the Go benchmarks use it.
var benchConfig = &config{chunks: goBenchChunks}

func reverseProxy(b *testing.B) caddyhttp.MiddlewareHandler {
	p := fakePorts(b)
	return provision(b, new(reverseproxy.Handler), siteConfig("rp", p, benchConfig))
}

// router provisions the llm_router block of a load-benchmark site.
func router(b *testing.B, site string, p ports) caddyhttp.MiddlewareHandler {
	return provision(b, new(llmrouter.Handler), routerBlock(site, p, benchConfig))
}

func needProvider(b *testing.B, name string) {
	if _, err := caddy.GetModule("http.llm_router.providers." + name); err != nil {
		b.Skipf("the %s provider is not registered", name)
	}
}

func openaiRouter(b *testing.B) caddyhttp.MiddlewareHandler { return router(b, "openai", fakePorts(b)) }

func anthropicRouter(b *testing.B) caddyhttp.MiddlewareHandler {
	needProvider(b, "anthropic")
	return router(b, "anthropic", fakePorts(b))
}

func mock(b *testing.B) caddyhttp.MiddlewareHandler { return router(b, "mock", ports{}) }

// keyed is the router of the keyed variants; on store redis, with a
// redis-server of its own.
func keyed(b *testing.B, site string) (caddyhttp.MiddlewareHandler, *redistest.Server) {
	p := fakePorts(b)
	var srv *redistest.Server
	if site == "keys_redis" {
		srv = redistest.Start(b)
		_, port, _ := strings.Cut(srv.Addr, ":")
		p.redis, _ = strconv.Atoi(port)
	}
	return router(b, site, p), srv
}

// benchKeyed runs the keyed variant and, on store redis, reports the
// round trips per request twice: as the store's own client counts them
// (a store on the same URL and prefix shares the router's client) and as
// Redis counts the commands clients sent (INFO commandstats).
func benchKeyed(b *testing.B, site string, stream bool) {
	h, srv := keyed(b, site)
	key := map[string]string{"keys_memory": benchKeyMemory, "keys_redis": benchKeyRedis}[site]
	l := load{api: apiChat, stream: stream, header: "Authorization: Bearer " + key,
		want: "x-ratelimit-limit-requests: " + strconv.Itoa(benchRPM)}
	if srv == nil {
		serveLoop(b, h, l)
		return
	}
	shared := new(redisstore.Redis)
	provision(b, storeModule{shared}, "redis "+srv.URL+" {\n prefix llm_router_bench:\n}")
	before, err := redisCommandStats(srv.Addr)
	if err != nil {
		b.Fatal(err)
	}
	trips := shared.RoundTrips()
	serveLoop(b, h, l)
	trips = shared.RoundTrips() - trips
	after, err := redisCommandStats(srv.Addr)
	if err != nil {
		b.Fatal(err)
	}
	d := diffCommandStats(before, after)
	n := float64(b.N + 1) // the loop and serveLoop's first answer
	b.ReportMetric(float64(trips)/n, "roundtrips/op")
	b.ReportMetric(float64(d.trips)/n, "redis-client-cmds/op")
	b.ReportMetric(float64(d.inScripts)/n, "redis-script-cmds/op")
}

// storeModule provisions a store as provision does a handler.
type storeModule struct{ *redisstore.Redis }

func (storeModule) ServeHTTP(http.ResponseWriter, *http.Request, caddyhttp.Handler) error {
	return nil
}

// chain is a middleware handler in front of another.
type chain struct {
	outer, inner caddyhttp.MiddlewareHandler
}

type chainNext struct {
	inner caddyhttp.MiddlewareHandler
	next  caddyhttp.Handler
}

func (c chainNext) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	return c.inner.ServeHTTP(w, r, c.next)
}

func (c chain) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return c.outer.ServeHTTP(w, r, chainNext{c.inner, next})
}

var otelOnce sync.Once

// traced is the tracing site: Caddy's tracing handler (its exporter sends
// to the fake's OTLP sink, every trace sampled) in front of the router.
func traced(b *testing.B) caddyhttp.MiddlewareHandler {
	p := fakePorts(b)
	otelOnce.Do(func() {
		for _, kv := range otelEnv(p) {
			k, v, _ := strings.Cut(kv, "=")
			_ = os.Setenv(k, v)
		}
	})
	t := provision(b, new(tracing.Tracing), tracingBlock)
	return chain{outer: t, inner: router(b, "tracing", p)}
}

// cached is the cache site (the response cache in memory); if a build has
// no `cache` subdirective, the benchmark is skipped with that reason.
func cached(b *testing.B) caddyhttp.MiddlewareHandler {
	p := fakePorts(b)
	h := new(llmrouter.Handler)
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(routerBlock("cache", p, benchConfig))); err != nil {
		if strings.Contains(err.Error(), "cache") {
			b.Skipf("the response cache has not landed: %v", err)
		}
		b.Fatal(err)
	}
	return router(b, "cache", p)
}

func chat(stream bool) load      { return load{api: apiChat, stream: stream} }
func messages(stream bool) load  { return load{api: apiMessages, stream: stream} }
func responses(stream bool) load { return load{api: apiResponses, stream: stream} }

// Issue 5: chat completions.
func BenchmarkReverseProxy(b *testing.B)       { serveLoop(b, reverseProxy(b), chat(false)) }
func BenchmarkReverseProxyStream(b *testing.B) { serveLoop(b, reverseProxy(b), chat(true)) }
func BenchmarkPassthrough(b *testing.B)        { serveLoop(b, openaiRouter(b), chat(false)) }
func BenchmarkPassthroughStream(b *testing.B)  { serveLoop(b, openaiRouter(b), chat(true)) }
func BenchmarkAnthropic(b *testing.B)          { serveLoop(b, anthropicRouter(b), chat(false)) }
func BenchmarkAnthropicStream(b *testing.B)    { serveLoop(b, anthropicRouter(b), chat(true)) }
func BenchmarkMock(b *testing.B)               { serveLoop(b, mock(b), chat(false)) }
func BenchmarkMockStream(b *testing.B)         { serveLoop(b, mock(b), chat(true)) }

// Issue 9: the Messages and Responses APIs, passed through and translated.
func BenchmarkReverseProxyMessages(b *testing.B) { serveLoop(b, reverseProxy(b), messages(false)) }
func BenchmarkReverseProxyMessagesStream(b *testing.B) {
	serveLoop(b, reverseProxy(b), messages(true))
}
func BenchmarkMessagesPassthrough(b *testing.B) { serveLoop(b, anthropicRouter(b), messages(false)) }
func BenchmarkMessagesPassthroughStream(b *testing.B) {
	serveLoop(b, anthropicRouter(b), messages(true))
}
func BenchmarkMessagesTranslation(b *testing.B) { serveLoop(b, openaiRouter(b), messages(false)) }
func BenchmarkMessagesTranslationStream(b *testing.B) {
	serveLoop(b, openaiRouter(b), messages(true))
}
func BenchmarkReverseProxyResponses(b *testing.B) { serveLoop(b, reverseProxy(b), responses(false)) }
func BenchmarkReverseProxyResponsesStream(b *testing.B) {
	serveLoop(b, reverseProxy(b), responses(true))
}
func BenchmarkResponsesPassthrough(b *testing.B) { serveLoop(b, openaiRouter(b), responses(false)) }
func BenchmarkResponsesPassthroughStream(b *testing.B) {
	serveLoop(b, openaiRouter(b), responses(true))
}
func BenchmarkResponsesTranslation(b *testing.B) {
	serveLoop(b, anthropicRouter(b), responses(false))
}
func BenchmarkResponsesTranslationStream(b *testing.B) {
	serveLoop(b, anthropicRouter(b), responses(true))
}

// Issue 10: router keys on both stores.
func BenchmarkKeysMemory(b *testing.B)       { benchKeyed(b, "keys_memory", false) }
func BenchmarkKeysMemoryStream(b *testing.B) { benchKeyed(b, "keys_memory", true) }
func BenchmarkKeysRedis(b *testing.B)        { benchKeyed(b, "keys_redis", false) }
func BenchmarkKeysRedisStream(b *testing.B)  { benchKeyed(b, "keys_redis", true) }

// Issue 11: tracing in front.
func BenchmarkTracing(b *testing.B)       { serveLoop(b, traced(b), chat(false)) }
func BenchmarkTracingStream(b *testing.B) { serveLoop(b, traced(b), chat(true)) }

// Issue 12: the response cache, every answer a hit.
func BenchmarkCacheHit(b *testing.B) {
	serveLoop(b, cached(b), load{api: apiChat, want: "X-LLM-Cache: hit"})
}
func BenchmarkCacheHitStream(b *testing.B) {
	// A model of its own, as in the load benchmark: a stored stream replayed.
	v := &variant{Key: "l"}
	serveLoop(b, cached(b), load{api: apiChat, model: v.model("bench-fast", true), stream: true, want: "X-LLM-Cache: hit"})
}

func benchBodySizes(b *testing.B, h func(*testing.B) caddyhttp.MiddlewareHandler, api string) {
	for _, size := range bodySizes {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			serveLoop(b, h(b), load{api: api, size: size})
		})
	}
}

func BenchmarkReverseProxyBody(b *testing.B) { benchBodySizes(b, reverseProxy, apiChat) }
func BenchmarkPassthroughBody(b *testing.B)  { benchBodySizes(b, openaiRouter, apiChat) }
func BenchmarkMessagesPassthroughBody(b *testing.B) {
	benchBodySizes(b, anthropicRouter, apiMessages)
}
func BenchmarkResponsesPassthroughBody(b *testing.B) {
	benchBodySizes(b, openaiRouter, apiResponses)
}
