package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// variant is one measured load: a site of the Caddy under test and the
// request its clients send (the inbound API, and a router key).
type variant struct {
	Key   string // one letter, for -variants
	Name  string // for -cpuprofile and file names
	Title string // what the tables show
	Site  string // the Caddy site (see siteConfig)
	API   string // apiChat, apiMessages, apiResponses
	// Base is the key of the variant the ratios compare with: reverse_proxy
	// with the same inbound API ("" for a baseline itself).
	Base string
	// Header is an extra request header ("Name: value"), e.g. the key.
	Header string
	// Want is a header every answer must carry ("Name: value"): proof
	// that the feature measured is on (rate-limit headers, cache hits).
	Want string
	// Upstream is the fake upstream port the site's router uses ("rp",
	// "openai", "anthropic"; "" for the mock), for connection counts.
	Upstream string
	// Note says what the variant adds, for README and RESULTS.
	Note string
	// NoTTFC leaves the variant out of the time-to-first-event runs.
	NoTTFC bool
	Port   int
	// Missing says why the variant is not measured ("" if it is).
	Missing string
}

func (v *variant) addr() string { return "127.0.0.1:" + strconv.Itoa(v.Port) }

// model is the model a request of v names. The cache variant's streams
// name one of their own, so that the cache replays a stored stream: it
// keys its entries apart from `stream`, and would otherwise answer a
// stream by rendering the stored JSON answer as chunks.
func (v *variant) model(m string, stream bool) string {
	if v.Key == "l" && stream {
		return m + "-stream"
	}
	return m
}

// The router keys of the keyed variants: limits high enough never to
// refuse, so that every request goes through admission and settlement.
const (
	benchKeyMemory = "sk-llmr-bench-memory-0123456789abcdefghijklmnopqrstuv"
	benchKeyRedis  = "sk-llmr-bench-redis-0123456789abcdefghijklmnopqrstuvw"
	benchRPM       = 1000000000
)

// allVariants lists every variant, in table order. (a), (m) and (n) are
// reverse_proxy with each inbound API's request: the baselines.
func allVariants() []*variant {
	return []*variant{
		{Key: "a", Name: "reverse_proxy", Title: "reverse_proxy", Site: "rp", API: apiChat, Upstream: "rp",
			Note: "`reverse_proxy <fake> { flush_interval -1 }`, Chat Completions requests: the floor for any Caddy handler that forwards HTTP"},
		{Key: "b", Name: "passthrough", Title: "passthrough", Site: "openai", API: apiChat, Base: "a", Upstream: "openai",
			Note: "`llm_router` with an `openai` target: Chat Completions passed through"},
		{Key: "c", Name: "translation", Title: "translation", Site: "anthropic", API: apiChat, Base: "a", Upstream: "anthropic",
			Note: "`llm_router` with an `anthropic` target: Chat Completions translated to Messages and back"},
		{Key: "d", Name: "mock", Title: "mock", Site: "mock", API: apiChat, Base: "a",
			Note: "`llm_router` with `mock` targets: the gateway alone, with no upstream hop"},
		{Key: "m", Name: "rp_messages", Title: "reverse_proxy, Messages", Site: "rp", API: apiMessages, Upstream: "rp",
			Note: "reverse_proxy with Anthropic Messages requests (`/v1/messages`): the baseline of (e) and (f)"},
		{Key: "e", Name: "messages_passthrough", Title: "Messages → anthropic", Site: "anthropic", API: apiMessages, Base: "m", Upstream: "anthropic",
			Note: "Messages to the `anthropic` target: passthrough"},
		{Key: "f", Name: "messages_translation", Title: "Messages → openai", Site: "openai", API: apiMessages, Base: "m", Upstream: "openai",
			Note: "Messages to the `openai` target: translated to Chat Completions and back"},
		{Key: "n", Name: "rp_responses", Title: "reverse_proxy, Responses", Site: "rp", API: apiResponses, Upstream: "rp",
			Note: "reverse_proxy with OpenAI Responses requests (`/v1/responses`): the baseline of (g) and (h)"},
		{Key: "g", Name: "responses_passthrough", Title: "Responses → openai", Site: "openai", API: apiResponses, Base: "n", Upstream: "openai",
			Note: "Responses to the `openai` target: passthrough"},
		{Key: "h", Name: "responses_translation", Title: "Responses → anthropic", Site: "anthropic", API: apiResponses, Base: "n", Upstream: "anthropic",
			Note: "Responses to the `anthropic` target: translated to Messages and back"},
		{Key: "i", Name: "keys_memory", Title: "keys, store memory", Site: "keys_memory", API: apiChat, Base: "a", Upstream: "openai",
			Header: "Authorization: Bearer " + benchKeyMemory, Want: "x-ratelimit-limit-requests: " + strconv.Itoa(benchRPM),
			Note: "(b) with a router key (`rpm`, `budget … total`, a `price` on the target) on `store memory`"},
		{Key: "j", Name: "keys_redis", Title: "keys, store redis", Site: "keys_redis", API: apiChat, Base: "a", Upstream: "openai",
			Header: "Authorization: Bearer " + benchKeyRedis, Want: "x-ratelimit-limit-requests: " + strconv.Itoa(benchRPM),
			Note: "(i) on `store redis` (a local redis-server started by the bench, pinned to the load CPU)"},
		{Key: "k", Name: "tracing", Title: "tracing", Site: "tracing", API: apiChat, Base: "a", Upstream: "openai",
			Note: "(b) behind Caddy's `tracing` directive, sampling 1 (`OTEL_TRACES_SAMPLER=always_on`), OTLP/HTTP export to a local sink"},
		{Key: "l", Name: "cache_hit", Title: "cache hit", Site: "cache", API: apiChat, Base: "a", Upstream: "openai",
			Want: "X-LLM-Cache: hit", NoTTFC: true,
			Note: "(b) with the response `cache` on, the same request repeated: every answer a hit"},
	}
}

// selected marks the variants not in letters as Missing; (a) and the
// variants others compare with always run.
func selected(vs []*variant, letters string) {
	need := map[string]bool{"a": true}
	for _, v := range vs {
		if strings.Contains(letters, v.Key) {
			need[v.Key] = true
			if v.Base != "" {
				need[v.Base] = true
			}
			if v.Key == "i" || v.Key == "j" || v.Key == "k" || v.Key == "l" {
				need["b"] = true // their own comparison is with (b)
			}
		}
	}
	for _, v := range vs {
		if !need[v.Key] {
			v.Missing = "not selected (-variants)"
		}
	}
}

func findVariant(vs []*variant, s string) *variant {
	for _, v := range vs {
		if s == v.Key || s == v.Name || s == "("+v.Key+")" {
			return v
		}
	}
	return nil
}

func variantByKey(vs []*variant, key string) *variant {
	for _, v := range vs {
		if v.Key == key {
			return v
		}
	}
	return nil
}

// siteProviders are the providers a site's router needs.
var siteProviders = map[string]string{
	"openai": "openai", "anthropic": "anthropic", "mock": "mock",
	"keys_memory": "openai", "keys_redis": "openai", "tracing": "openai", "cache": "openai",
}

// siteTitle is a site's comment in the generated Caddyfile.
var siteTitle = map[string]string{
	"rp":          "reverse_proxy (flush_interval -1): (a), (m), (n)",
	"openai":      "llm_router, openai target: (b) passthrough, (f) Messages translated, (g) Responses passthrough",
	"anthropic":   "llm_router, anthropic target: (c) translation, (e) Messages passthrough, (h) Responses translated",
	"mock":        "llm_router, mock targets (no upstream): (d)",
	"keys_memory": "llm_router, openai target, a router key on store memory: (i)",
	"keys_redis":  "llm_router, openai target, a router key on store redis: (j)",
	"tracing":     "tracing in front of llm_router, openai target: (k)",
	"cache":       "llm_router, openai target, response cache: (l)",
}

// siteOrder is the order of the sites in the Caddyfile.
var siteOrder = []string{"rp", "openai", "anthropic", "mock", "keys_memory", "keys_redis", "tracing", "cache"}

// openaiTarget is the router's openai target (passthrough of chat and
// Responses requests).
func openaiTarget(p ports, extra string) string {
	return fmt.Sprintf("\t\ttarget up {\n\t\t\tprovider openai\n\t\t\tbase_url http://127.0.0.1:%d/v1\n\t\t\tapi_key bench-key\n%s\t\t}\n", p.upOpenAI, extra)
}

// tracingBlock is the tracing site's `tracing` directive.
const tracingBlock = "\ttracing {\n\t\tspan llm_router_bench\n\t}\n"

// siteConfig is the body of one site of the Caddy under test.
func siteConfig(site string, p ports, cfg *config) string {
	switch site {
	case "rp":
		var b strings.Builder
		fmt.Fprintf(&b, "\treverse_proxy 127.0.0.1:%d {\n\t\tflush_interval -1\n", p.upRP)
		if cfg.rpIdle > 0 {
			fmt.Fprintf(&b, "\t\ttransport http {\n\t\t\tkeepalive_idle_conns_per_host %d\n\t\t}\n", cfg.rpIdle)
		}
		b.WriteString("\t}\n")
		return b.String()
	case "tracing":
		return tracingBlock + routerBlock(site, p, cfg)
	}
	return routerBlock(site, p, cfg)
}

// routerBlock is the `llm_router` directive of a router site (the Go
// benchmarks provision the same lines).
func routerBlock(site string, p ports, cfg *config) string {
	var b strings.Builder
	b.WriteString("\tllm_router {\n")
	switch site {
	case "openai", "tracing":
		b.WriteString(openaiTarget(p, ""))
	case "anthropic":
		fmt.Fprintf(&b, "\t\ttarget up {\n\t\t\tprovider anthropic\n\t\t\tbase_url http://127.0.0.1:%d\n\t\t\tapi_key bench-key\n\t\t}\n", p.upAnthropic)
	case "mock":
		words := mockAnswer(cfg.chunks)
		for _, t := range []struct {
			model string
			delay time.Duration
		}{{"bench-fast", 0}, {"bench-slow", cfg.ttfcDelay}, {"bench-idle", time.Hour}} {
			fmt.Fprintf(&b, "\t\ttarget %s {\n\t\t\tprovider mock\n\t\t\tmodels %s\n\t\t\tmock_response %q\n", strings.TrimPrefix(t.model, "bench-"), t.model, words)
			if t.delay > 0 {
				fmt.Fprintf(&b, "\t\t\tmock_delay %s\n", t.delay)
			}
			b.WriteString("\t\t}\n")
		}
	case "keys_memory", "keys_redis":
		// A price, so that the budget reserves and settles a real cost.
		b.WriteString(openaiTarget(p, "\t\t\tprice * 1 2\n"))
		name, secret, store := "bench-memory", benchKeyMemory, "\t\tstore memory\n"
		if site == "keys_redis" {
			name, secret = "bench-redis", benchKeyRedis
			store = fmt.Sprintf("\t\tstore redis redis://127.0.0.1:%d {\n\t\t\tprefix llm_router_bench:\n\t\t}\n", p.redis)
		}
		fmt.Fprintf(&b, "\t\tkey %s {\n\t\t\tname %s\n\t\t\trpm %d\n\t\t\tbudget 1000000 total\n\t\t}\n%s", secret, name, benchRPM, store)
	case "cache":
		// The response cache (SPEC 12): `cache` with its default ttl.
		b.WriteString(openaiTarget(p, "") + "\t\tcache\n")
	}
	b.WriteString("\t}\n")
	return b.String()
}
