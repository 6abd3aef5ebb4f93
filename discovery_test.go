package llmrouter

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/discovery"
)

// waitDiscovered waits until the target's first list arrived.
func waitDiscovered(t *testing.T, h *Handler, target string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.targets[target].discovered() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("target %s discovered nothing", target)
		}
		time.Sleep(time.Millisecond)
	}
}

func modelIDs(h *Handler) string {
	var ids []string
	for _, m := range h.listModels() {
		ids = append(ids, m.ID+"@"+m.OwnedBy)
	}
	return strings.Join(ids, " ")
}

func members(g *group) string {
	var out []string
	for _, m := range g.members {
		out = append(out, m.target.Name+"/"+m.model)
	}
	return strings.Join(out, " ")
}

// A target with discovered models and no patterns serves exactly those
// (and its model_map names); patterns filter what is discovered; the
// models list shows discovered models after every written one.
func TestDiscoveryResolveAndList(t *testing.T) {
	h := provisioned(t, `llm_router {
		target listed {
			provider mock
			mock_models d1 d2 shared
			model_map alias-name d1
			discover
		}
		target filtered {
			provider mock
			mock_models f-1 f-2 other shared
			models f-* written
			discover 1h
		}
		target plain {
			provider mock
			models p1
		}
		model smart {
			to listed d2
		}
	}`)
	waitDiscovered(t, h, "listed")
	waitDiscovered(t, h, "filtered")
	if got := modelIDs(h); got != "smart@llm_router alias-name@listed written@filtered p1@plain d1@listed d2@listed shared@listed f-1@filtered f-2@filtered" {
		t.Fatalf("models list: %s", got)
	}
	for model, want := range map[string]string{
		"d1":         "listed/d1",
		"shared":     "listed/shared",
		"alias-name": "listed/d1",
		"f-2":        "filtered/f-2",
		"f-3":        "filtered/f-3", // the pattern serves it, discovered or not
		"written":    "filtered/written",
		"p1":         "plain/p1",
	} {
		g, e := h.resolveModel(model)
		if e != nil || members(g) != want {
			t.Errorf("%s: %v %v, want %s", model, members(g), e, want)
		}
	}
	for _, model := range []string{"other", "unknown"} {
		if _, e := h.resolveModel(model); e == nil || e.Code != "model_not_found" {
			t.Errorf("%s resolved: %v", model, e)
		}
	}
	if m, ok := h.findModel("d2"); !ok || m.OwnedBy != "listed" {
		t.Errorf("findModel(d2) = %+v %v", m, ok)
	}
	if _, ok := h.findModel("other"); ok {
		t.Error("findModel found a model no pattern keeps")
	}
}

// Before its first list, a target without patterns serves any model, as
// without discover; a mock with an empty list never lists.
func TestDiscoveryEmptyListServesAny(t *testing.T) {
	h := provisioned(t, `llm_router {
		target empty {
			provider mock
			discover
		}
	}`)
	waitDiscovered(t, h, "empty")
	if g, e := h.resolveModel("anything"); e != nil || members(g) != "empty/anything" {
		t.Fatalf("%v %v", members(g), e)
	}
	if got := modelIDs(h); got != "" {
		t.Fatalf("models list %q", got)
	}
}

// Two handlers naming the same upstream the same way share one source;
// another key or interval is another source; the last Cleanup stops it.
func TestDiscoverySharedSource(t *testing.T) {
	block := func(interval string) string {
		return `llm_router {
			target shared-src {
				provider mock
				mock_models a
				discover ` + interval + `
			}
		}`
	}
	h1 := provisioned(t, block("5m"))
	h2 := provisioned(t, block("5m"))
	h3 := provisioned(t, block("6m"))
	k1, k3 := h1.targets["shared-src"].discoveryKey, h3.targets["shared-src"].discoveryKey
	if k1 == "" || k1 != h2.targets["shared-src"].discoveryKey || k1 == k3 {
		t.Fatalf("keys %q %q %q", k1, h2.targets["shared-src"].discoveryKey, k3)
	}
	if h1.targets["shared-src"].source != h2.targets["shared-src"].source || discovery.Refs(k1) != 2 {
		t.Fatalf("not shared: refs %d", discovery.Refs(k1))
	}
	_ = h1.Cleanup()
	if discovery.Refs(k1) != 1 {
		t.Fatalf("refs after one cleanup %d", discovery.Refs(k1))
	}
	_ = h2.Cleanup()
	if discovery.Refs(k1) != 0 || discovery.Refs(k3) != 1 {
		t.Fatalf("refs after both cleanups %d, other %d", discovery.Refs(k1), discovery.Refs(k3))
	}
}

// The pool key holds no key, only a digest that changes with it.
func TestDiscoveryIdentity(t *testing.T) {
	const secret = "sk-discovery-secret-77"
	tgt := &Target{Name: "a"}
	tgt.upstream.APIKey = secret
	id1 := tgt.discoveryIdentity(time.Minute)
	key := discovery.Key("a", "http://x", id1)
	if strings.Contains(key, secret) || strings.Contains(key, "sk-") {
		t.Fatalf("key %q", key)
	}
	tgt.upstream.APIKey = secret + "x"
	if tgt.discoveryIdentity(time.Minute) == id1 {
		t.Fatal("another key, the same identity")
	}
	tgt.upstream.APIKey = secret
	if tgt.discoveryIdentity(time.Minute) != id1 || tgt.discoveryIdentity(time.Hour) == id1 {
		t.Fatal("identity not a function of key and interval")
	}
}

// The implicit-group cache holds one version of the lists: another
// version misses, an older group is never stored over a newer cache.
func TestGroupCacheVersions(t *testing.T) {
	var c groupCache
	g1, g2 := &group{}, &group{}
	c.put("m", g1, 1)
	if c.get("m", 1) != g1 || c.get("m", 2) != nil {
		t.Fatal("version 1")
	}
	c.put("m", g2, 2)
	if c.get("m", 2) != g2 || c.get("m", 1) != nil {
		t.Fatal("version 2")
	}
	c.put("m", g1, 1)
	c.put("n", g1, 1)
	if c.get("m", 2) != g2 || c.get("n", 2) != nil || c.get("n", 1) != nil {
		t.Fatal("an older group was stored")
	}
}

func TestCaddyfileDiscover(t *testing.T) {
	h, err := parse(t, `llm_router {
		target a {
			discover
		}
		target b {
			discover 90s
		}
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if h.Targets[0].Discover == nil || h.Targets[0].Discover.Interval != 0 || time.Duration(h.Targets[1].Discover.Interval) != 90*time.Second {
		t.Fatalf("%+v %+v", h.Targets[0].Discover, h.Targets[1].Discover)
	}
	for _, bad := range []struct{ body, want string }{
		{"discover 0s", "not an interval"},
		{"discover soon", "not an interval"},
		{"discover 1m 2m", "unexpected argument"},
		{"discover\ndiscover 1m", "given twice"},
	} {
		_, err := parse(t, "llm_router {\ntarget a {\n"+bad.body+"\n}\n}")
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), "Testfile:") {
			t.Errorf("%q: %v", bad.body, err)
		}
	}
}

// A discovered name that is no valid model name is dropped.
func TestDiscoveryDropsInvalidNames(t *testing.T) {
	h := provisioned(t, "llm_router {\ntarget v {\nprovider mock\nmock_models ok ../up\ndiscover\n}\n}")
	waitDiscovered(t, h, "v")
	if got := h.targets["v"].discovered().Names(); !slices.Equal(got, []string{"ok"}) {
		t.Fatalf("%v", got)
	}
	if apis.CheckModel("../up") == nil {
		t.Fatal("the test's invalid name is valid")
	}
}

// In JSON, discover is an object: {} for the default interval, a duration
// string or nanoseconds for another.
func TestDiscoverJSON(t *testing.T) {
	for raw, want := range map[string]time.Duration{
		`{"name":"a","discover":{}}`:                       0,
		`{"name":"a","discover":{"interval":"1h"}}`:        time.Hour,
		`{"name":"a","discover":{"interval":60000000000}}`: time.Minute,
	} {
		var tgt Target
		if err := json.Unmarshal([]byte(raw), &tgt); err != nil || tgt.Discover == nil || time.Duration(tgt.Discover.Interval) != want {
			t.Errorf("%s: %+v %v", raw, tgt.Discover, err)
		}
	}
	var tgt Target
	if err := json.Unmarshal([]byte(`{"name":"a"}`), &tgt); err != nil || tgt.Discover != nil {
		t.Errorf("without discover: %+v %v", tgt.Discover, err)
	}
}
