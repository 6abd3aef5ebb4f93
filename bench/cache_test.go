package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	llmrouter "github.com/llmrouter/caddy-llm-router"
)

// The response cache's hits, against the same fake upstream and through
// the same loop as BenchmarkReverseProxy: the first request fills the
// memory cache, every later one is a hit. The target is a hit at
// most half of reverse_proxy's CPU per request, so these benchmarks (and
// reverse_proxy's beside them) report the process's CPU time per request,
// cpu-ns/op: the fake upstream runs in a child process, so that is the
// handler's (and the benchmark loop's) alone.

func cached(b *testing.B) caddyhttp.MiddlewareHandler {
	up := fakeUpstream(b, false)
	return provision(b, new(llmrouter.Handler),
		"llm_router {\n target up {\n  provider openai\n  base_url "+up+"/v1\n  api_key bench-key\n }\n cache\n}")
}

// withCPU runs serveLoop and reports the process's CPU time per request.
func withCPU(b *testing.B, h caddyhttp.MiddlewareHandler, stream bool) {
	start := selfCPU()
	serveLoop(b, h, "bench-fast", stream)
	b.ReportMetric(float64(selfCPU()-start)/float64(b.N), "cpu-ns/op")
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkCacheHit(b *testing.B)              { withCPU(b, cached(b), false) }
func BenchmarkCacheHitStream(b *testing.B)        { withCPU(b, cached(b), true) }
func BenchmarkCPUReverseProxy(b *testing.B)       { withCPU(b, reverseProxy(b), false) }
func BenchmarkCPUReverseProxyStream(b *testing.B) { withCPU(b, reverseProxy(b), true) }
