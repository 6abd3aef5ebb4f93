package integration

// SPEC section 5.1: resolving the request's model, one test per rule.

import (
	"net/http"
	"testing"

	"github.com/llmrouter/caddy-llm-router/internal/fakeupstream"
)

// Rule 1: X-LLM-Target forces that target, before an alias, a target
// prefix and the `models` patterns; the model is sent unchanged unless
// model_map maps it.
func TestSpecResolveRule1TargetHeader(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	load(t, router(fast+
		upTarget("a", a, "models gpt-4o")+
		upTarget("b", b, "models claude-*", "model_map mapped-in mapped-out")+`
		model gpt-4o {
			to a
		}`))

	r := do(t, "/v1/chat/completions", chat("gpt-4o"), "X-LLM-Target", "b")
	expectStatus(t, r, 200)
	expectCounts(t, map[*fakeupstream.Server]int{a: 0, b: 1})
	if m := upstreamModel(t, b, -1); m != "gpt-4o" {
		t.Errorf("forced target got model %q, want it unchanged", m)
	}
	expectRoute(t, r, "b", "gpt-4o", 1)

	r = do(t, "/v1/chat/completions", chat("a/x"), "X-LLM-Target", "b")
	expectStatus(t, r, 200)
	if m := upstreamModel(t, b, -1); m != "a/x" || a.Count() != 0 {
		t.Errorf("header did not beat the target prefix: b got %q, a got %d requests", m, a.Count())
	}

	r = do(t, "/v1/chat/completions", chat("mapped-in"), "X-LLM-Target", "b")
	expectStatus(t, r, 200)
	if m := upstreamModel(t, b, -1); m != "mapped-out" {
		t.Errorf("model_map not applied to a forced target: %q", m)
	}
	expectRoute(t, r, "b", "mapped-out", 1)
}

// Rule 2: a model equal to an alias goes to the alias's members, with the
// alias's strategy, before rule 3 (a `<target>/…` name) and rule 4 (a
// target's patterns).
func TestSpecResolveRule2Alias(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	c := fakeupstream.NewOpenAI(t, "c")
	load(t, router(fast+"retries 0\n"+
		upTarget("a", a, "models fast a/x")+
		upTarget("b", b)+
		upTarget("c", c)+`
		model fast {
			to b big-model
		}
		model a/x {
			to c
		}
		model ordered {
			strategy fallback
			to c c-model
			to b b-model
		}`))

	r := do(t, "/v1/chat/completions", chat("fast"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "b", "big-model", 1)
	if a.Count() != 0 || upstreamModel(t, b, -1) != "big-model" {
		t.Errorf("alias lost to a target's patterns: a got %d requests", a.Count())
	}

	r = do(t, "/v1/chat/completions", chat("a/x"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "c", "a/x", 1)
	if a.Count() != 0 {
		t.Errorf("alias lost to the target prefix: a got %d requests", a.Count())
	}

	// The alias's own strategy (fallback: written order) applies.
	for i := 0; i < 6; i++ {
		r = do(t, "/v1/chat/completions", chat("ordered"))
		expectStatus(t, r, 200)
		expectRoute(t, r, "c", "c-model", 1)
	}
	c.Always(fakeupstream.Step{Status: 500})
	r = do(t, "/v1/chat/completions", chat("ordered"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "b", "b-model", 2)
}

// Rule 3: `<target>/<model>` and `[<target>]<model>` go to that target with
// upstream model `<model>`, whatever its `models` say; model_map still
// applies last.
func TestSpecResolveRule3TargetPrefix(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	load(t, router(fast+
		upTarget("a", a)+
		upTarget("b", b, "models only-this", "model_map raw mapped")))

	for _, c := range []struct{ model, upstream string }{
		{"b/anything", "anything"},
		{"[b]anything", "anything"},
		{"b/org/model-1", "org/model-1"},
		{"b/raw", "mapped"},
	} {
		r := do(t, "/v1/chat/completions", chat(c.model))
		expectStatus(t, r, 200)
		expectRoute(t, r, "b", c.upstream, 1)
		if got := upstreamModel(t, b, -1); got != c.upstream {
			t.Errorf("model %q: b got %q, want %q", c.model, got, c.upstream)
		}
	}
	if a.Count() != 0 {
		t.Errorf("a target without models got %d prefixed requests", a.Count())
	}
}

// Rule 3's fall-through: a prefix that names no target is an ordinary model
// name for rule 4, sent unchanged.
func TestSpecResolveRule3PrefixNotATarget(t *testing.T) {
	llama := fakeupstream.NewOpenAI(t, "llama")
	other := fakeupstream.NewOpenAI(t, "other")
	load(t, router(fast+
		upTarget("other", other, "models gpt-* [nope]gpt-4")+
		upTarget("llama", llama, "models meta-llama/*")))
	r := do(t, "/v1/chat/completions", chat("meta-llama/llama-3-70b"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "llama", "meta-llama/llama-3-70b", 1)
	if got := upstreamModel(t, llama, -1); got != "meta-llama/llama-3-70b" {
		t.Errorf("upstream model %q", got)
	}
	r = do(t, "/v1/chat/completions", chat("[nope]gpt-4"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "other", "[nope]gpt-4", 1)
}

// Rule 4: every target whose patterns match (or that lists none), in the
// order of the Caddyfile, with the router-level strategy; `*` globs.
func TestSpecResolveRule4Patterns(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	c := fakeupstream.NewOpenAI(t, "c")
	d := fakeupstream.NewOpenAI(t, "d")
	a.Always(fakeupstream.Step{Status: 500})
	c.Always(fakeupstream.Step{Status: 500})
	load(t, router(fast+"retries 0\ncooldown 100 1m\n"+
		upTarget("a", a, "models gpt-4o*")+
		upTarget("b", b, "models claude-*")+
		upTarget("c", c, "models gpt-*-mini")+
		upTarget("d", d)))

	// gpt-4o-mini matches a, c and d (no models), tried in written order.
	r := do(t, "/v1/chat/completions", chat("gpt-4o-mini"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "d", "gpt-4o-mini", 3)
	expectCounts(t, map[*fakeupstream.Server]int{a: 1, b: 0, c: 1, d: 1})
	if !(a.Last().At.Before(c.Last().At) && c.Last().At.Before(d.Last().At)) {
		t.Errorf("candidates not tried in written order a, c, d")
	}

	// claude-3 matches b first; gpt-4o does not match gpt-*-mini.
	r = do(t, "/v1/chat/completions", chat("claude-3"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "b", "claude-3", 1)
	r = do(t, "/v1/chat/completions", chat("gpt-4o"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "d", "gpt-4o", 2)
	expectCounts(t, map[*fakeupstream.Server]int{a: 2, b: 1, c: 1, d: 2})

	// A model nobody lists goes to the target without models only.
	r = do(t, "/v1/chat/completions", chat("mistral-large"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "d", "mistral-large", 1)
}

// Rule 5: no alias, target prefix or pattern matches: 404 model_not_found,
// no upstream request.
func TestSpecResolveRule5ModelNotFound(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	load(t, router(fast+upTarget("a", a, "models gpt-*")+`
		model smart {
			to a
		}`))
	r := do(t, "/v1/chat/completions", chat("claude-3"))
	expectError(t, r, http.StatusNotFound, "model_not_found")
	r = do(t, "/v1/chat/completions", chat("nope/gpt-4"))
	expectError(t, r, http.StatusNotFound, "model_not_found")
	expectCounts(t, map[*fakeupstream.Server]int{a: 0})
	if r.Header.Get("X-LLM-Attempts") != "" {
		t.Errorf("X-LLM-Attempts sent without any attempt: %q", r.Header.Get("X-LLM-Attempts"))
	}
}

// model_map is applied last: to an alias member's upstream model and to a
// pattern-matched target's model.
func TestSpecResolveModelMapLast(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	load(t, router(fast+upTarget("a", a, "models m-*", "model_map x y", "model_map m-1 m-1-upstream")+`
		model smart {
			to a x
		}`))
	r := do(t, "/v1/chat/completions", chat("smart"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "a", "y", 1)
	if got := upstreamModel(t, a, -1); got != "y" {
		t.Errorf("alias member: upstream model %q, want y", got)
	}
	r = do(t, "/v1/chat/completions", chat("m-1"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "a", "m-1-upstream", 1)
	if got := upstreamModel(t, a, -1); got != "m-1-upstream" {
		t.Errorf("pattern match: upstream model %q, want m-1-upstream", got)
	}
}

// Weighted strategy (5.2, as used by rules 2 and 4): weight 0 = only as
// fallback.
func TestSpecResolveWeightZeroOnlyAsFallback(t *testing.T) {
	a := fakeupstream.NewOpenAI(t, "a")
	b := fakeupstream.NewOpenAI(t, "b")
	load(t, router("retry_backoff 1ms 5ms\nretries 0\ncooldown 100 1m\n"+upTarget("a", a)+upTarget("b", b)+`
		model w {
			to a weight 0
			to b weight 1
		}`))
	for i := 0; i < 20; i++ {
		r := do(t, "/v1/chat/completions", chat("w"))
		expectStatus(t, r, 200)
	}
	expectCounts(t, map[*fakeupstream.Server]int{a: 0, b: 20})
	b.Always(fakeupstream.Step{Status: 503})
	r := do(t, "/v1/chat/completions", chat("w"))
	expectStatus(t, r, 200)
	expectRoute(t, r, "a", "w", 2)
}
