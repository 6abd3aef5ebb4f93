package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
)

const (
	aliceKey = "sk-llmr-alice-0123456789"
	bobKey   = "sk-llmr-bob-9876543210"
	carolKey = "sk-llmr-carol-5555555555"
)

func testSet(t testing.TB) *Set {
	t.Helper()
	h := sha256.Sum256([]byte(carolKey))
	s, err := NewSet([]KeyConfig{
		{Secret: aliceKey, Name: "alice", Models: []string{"gpt-4o*", "fast"}, Targets: []string{"openai", "azure"}},
		{Secret: "{env.LLM_ROUTER_TEST_BOB}", Name: "bob", RPM: 10, Budgets: []BudgetConfig{{5, Daily}}},
		{Secret: "sha256:" + strings.ToUpper(hex.EncodeToString(h[:])), Name: "carol"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthenticate(t *testing.T) {
	t.Setenv("LLM_ROUTER_TEST_BOB", bobKey)
	s := testSet(t)
	for presented, want := range map[string]string{
		aliceKey:                      "alice", // literal
		bobKey:                        "bob",   // {env.*}
		carolKey:                      "carol", // sha256: form (upper-case hex)
		"":                            "",
		"sk-llmr-alice-012345678":     "", // a prefix
		aliceKey + "0":                "", // longer
		"{env.LLM_ROUTER_TEST_BOB}":   "", // the placeholder itself
		HashForm(carolKey):            "", // the hash form is not the key
		strings.ToUpper(aliceKey):     "",
		" " + aliceKey:                "",
		"Bearer " + aliceKey:          "",
		strings.Repeat("x", 1<<16):    "",
		string([]byte{0xff, 0, 0x80}): "",
	} {
		k, ok := s.Authenticate(presented)
		switch {
		case want == "" && (ok || k != nil):
			t.Errorf("%.40q authenticated as %v", presented, k)
		case want != "" && (!ok || k.Name != want):
			t.Errorf("%.40q: %v %v, want %s", presented, k, ok, want)
		}
	}
	var none *Set
	if _, ok := none.Authenticate(aliceKey); ok || none.Len() != 0 {
		t.Error("a nil set authenticated")
	}
	if s.Len() != 3 || s.Keys()[1].Name != "bob" {
		t.Error("Keys")
	}
	if k, ok := s.Get("bob"); !ok || k.Limits.RPM != 10 || k.Limits.Budgets[0].USD != 5 || k.Limits.Name != "bob" {
		t.Errorf("Get: %+v", k)
	}
}

// TestAuthenticateNoAllocs: the presented key is hashed on the stack;
// nothing is allocated whether it matches the first key, the last one or
// none.
func TestAuthenticateNoAllocs(t *testing.T) {
	t.Setenv("LLM_ROUTER_TEST_BOB", bobKey)
	s := testSet(t)
	for _, presented := range []string{aliceKey, carolKey, "wrong", strings.Repeat("w", 4096)} {
		if n := testing.AllocsPerRun(100, func() { s.Authenticate(presented) }); n != 0 {
			t.Errorf("%.20q: %v allocations", presented, n)
		}
	}
}

// TestAuthenticateSamePath: every key is compared, whichever matches: the
// index picked is independent of the loop's early exit (there is none), so
// each key is found even among many whose hashes differ in the last byte.
func TestAuthenticateSamePath(t *testing.T) {
	var cfgs []KeyConfig
	for i := range 64 {
		cfgs = append(cfgs, KeyConfig{Secret: fmt.Sprintf("sk-llmr-%02d", i), Name: fmt.Sprint(i)})
	}
	s, err := NewSet(cfgs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 64 {
		k, ok := s.Authenticate(fmt.Sprintf("sk-llmr-%02d", i))
		if !ok || k.Name != fmt.Sprint(i) {
			t.Fatalf("key %d: %v %v", i, k, ok)
		}
	}
}

// TestAuthenticateMemory: 10,000 random wrong keys leave the heap as it was.
func TestAuthenticateMemory(t *testing.T) {
	t.Setenv("LLM_ROUTER_TEST_BOB", bobKey)
	s := testSet(t)
	keys := make([]string, 10_000)
	for i := range keys {
		b := make([]byte, 48)
		_, _ = rand.Read(b)
		keys[i] = "sk-llmr-" + hex.EncodeToString(b)
	}
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	read := func() (allocs, live uint64) {
		metrics.Read(sample)
		return sample[0].Value.Uint64(), sample[1].Value.Uint64()
	}
	read() // the first read sets up the metrics
	runtime.GC()
	_, live0 := read()
	allocs0, _ := read()
	for _, k := range keys {
		if _, ok := s.Authenticate(k); ok {
			panic("a random key authenticated")
		}
	}
	allocs1, _ := read()
	runtime.GC()
	_, live1 := read()
	// Copying the keys would take 10,000 × 112 bytes.
	if allocs1-allocs0 > 1<<10 {
		t.Errorf("authenticating 10,000 wrong keys allocated %d bytes", allocs1-allocs0)
	}
	if live1 > live0+16<<10 {
		t.Errorf("the heap grew by %d bytes over 10,000 wrong keys", live1-live0)
	}
	runtime.KeepAlive(keys)
	t.Logf("10,000 wrong keys: %d bytes allocated, heap %d → %d bytes", allocs1-allocs0, live0, live1)
}

func TestNewSetErrors(t *testing.T) {
	const secret = "sk-VERYSECRET"
	for _, tc := range []struct {
		cfg  KeyConfig
		want string
	}{
		{KeyConfig{Secret: "{env.LLM_ROUTER_TEST_UNSET}", Name: "a"}, `key "a": secret is empty once its placeholders are expanded`},
		{KeyConfig{Secret: "sha256:" + secret, Name: "a"}, `key "a": a sha256: secret needs 64 hex digits`},
		{KeyConfig{Secret: "sha256:" + strings.Repeat("zz", 32), Name: "a"}, "64 hex digits"},
		{KeyConfig{Secret: secret, Name: "a", RPM: -1}, "rpm"},
	} {
		_, err := NewSet([]KeyConfig{tc.cfg})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "VERYSECRET") || strings.Contains(err.Error(), "zzzz") {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestKeyPrintsName: a key prints as its name in every verb; neither the
// secret nor its hash shows.
func TestKeyPrintsName(t *testing.T) {
	t.Setenv("LLM_ROUTER_TEST_BOB", bobKey)
	k, _ := testSet(t).Get("alice")
	h := sha256.Sum256([]byte(aliceKey))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out := fmt.Sprintf(verb, k)
		if !strings.Contains(out, "alice") || strings.Contains(out, aliceKey) || strings.Contains(out, hex.EncodeToString(h[:4])) {
			t.Errorf("%s: %s", verb, out)
		}
	}
}

func TestAllows(t *testing.T) {
	t.Setenv("LLM_ROUTER_TEST_BOB", bobKey)
	s := testSet(t)
	alice, _ := s.Get("alice")
	bob, _ := s.Get("bob")
	for model, want := range map[string]bool{
		"gpt-4o": true, "gpt-4o-mini": true, "fast": true, "gpt-4": false, "fast2": false, "openai/gpt-4o": false, "": false,
	} {
		if alice.AllowsModel(model) != want {
			t.Errorf("alice, model %q: %v", model, !want)
		}
		if !bob.AllowsModel(model) {
			t.Errorf("bob (no models: all), model %q refused", model)
		}
	}
	if !alice.AllowsTarget("azure") || alice.AllowsTarget("anthropic") || !bob.AllowsTarget("anthropic") {
		t.Error("AllowsTarget")
	}
}
