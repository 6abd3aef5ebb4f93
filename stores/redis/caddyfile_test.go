package redis

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmrouter/caddy-llm-router/internal/redistest"
	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores/internal/storetest"
)

// unmarshal parses `store redis …` as the handler does, with
// caddyfile.UnmarshalModule.
func unmarshal(input string) (*Redis, error) {
	tokens, err := caddyfile.Tokenize([]byte(input), "Caddyfile")
	if err != nil {
		return nil, err
	}
	d := caddyfile.NewDispenser(tokens)
	d.Next() // store
	if !d.NextArg() {
		return nil, d.Err("store: expected memory or redis")
	}
	m, err := caddyfile.UnmarshalModule(d, "http.llm_router.stores."+d.Val())
	if err != nil {
		return nil, err
	}
	return m.(*Redis), nil
}

func TestRedisCaddyfile(t *testing.T) {
	r, err := unmarshal("store redis redis://user:pw@cache:6380/2 {\n\tprefix myapp:\n\tfail closed\n}")
	if err != nil {
		t.Fatal(err)
	}
	if r.URL != "redis://user:pw@cache:6380/2" || r.Prefix != "myapp:" || r.Fail != "closed" {
		t.Fatalf("%+v", r)
	}
	b, _ := json.Marshal(r)
	if string(b) != `{"url":"redis://user:pw@cache:6380/2","prefix":"myapp:","fail":"closed"}` {
		t.Fatalf("JSON %s", b)
	}
	r, err = unmarshal("store redis {env.REDIS_URL}")
	if err != nil || r.URL != "{env.REDIS_URL}" || r.Prefix != "" || r.Fail != "" {
		t.Fatalf("placeholder URL: %+v %v", r, err)
	}
}

func TestRedisCaddyfileErrors(t *testing.T) {
	for _, tc := range []struct{ input, want string }{
		{"store redis", "expected a URL"},
		{"store redis redis://u:s3cret@h:1 extra", "expected one URL"},
		{"store redis redis://h:1 {\n\tfail maybe\n}", "fail: expected open or closed"},
		{"store redis redis://h:1 {\n\tfail\n}", "fail: expected open or closed"},
		{"store redis redis://h:1 {\n\tprefix\n}", "prefix: expected a string"},
		{"store redis redis://h:1 {\n\tprefix a b\n}", "prefix: expected one string"},
		{"store redis redis://h:1 {\n\tpassword x\n}", `unrecognized option "password"`},
		{"store redis http://u:s3cret@h:1", "invalid url"},
		{"store redis redis://u:s3cret@h:1/notadb", "invalid url"},
		{"store redis redis://u:s3cret@h:1?bogus=1", "invalid url"},
		{"store redis redis://u:s3cret@h:1?dial_timeout=x", "invalid url"},
	} {
		_, err := unmarshal(tc.input)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Caddyfile:") {
			t.Errorf("%q: %v, want %q with the file and line", tc.input, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: the error shows the password: %v", tc.input, err)
		}
	}
}

func TestRedisURL(t *testing.T) {
	opt, err := parseURL("rediss://alice:pw@cache.example:6390/3")
	if err != nil {
		t.Fatal(err)
	}
	if opt.TLSConfig == nil || opt.Addr != "cache.example:6390" || opt.DB != 3 || opt.Username != "alice" || opt.Password != "pw" {
		t.Fatalf("rediss: %+v", opt)
	}
	if opt.MaxRetries != -1 {
		t.Fatalf("MaxRetries %d: a script must never be sent twice", opt.MaxRetries)
	}
	opt, err = parseURL("redis://h:1?max_retries=2&dial_timeout=5s")
	if err != nil || opt.TLSConfig != nil || opt.MaxRetries != 2 || opt.DialTimeout.String() != "5s" {
		t.Fatalf("redis with options: %+v %v", opt, err)
	}
	for _, bad := range []string{"", "h:1", "redis://", "unix:///tmp/s", "redis://u:s3cret@[::1"} {
		if _, err := parseURL(bad); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	r := &Redis{Fail: "sometimes", URL: "redis://h:1"}
	if err := r.Validate(); err == nil {
		t.Error("fail sometimes validated")
	}
	if err := (&Redis{}).Validate(); err == nil {
		t.Error("no URL validated")
	}
}

// TestRedisPlaceholder: the URL is expanded at provision; the JSON keeps
// the placeholder.
func TestRedisPlaceholder(t *testing.T) {
	srv := redistest.Start(t)
	t.Setenv("LLM_ROUTER_TEST_REDIS", srv.URL)
	r := &Redis{URL: "{env.LLM_ROUTER_TEST_REDIS}"}
	provision(t, r, "", nil)
	if r.Prefix != DefaultPrefix {
		t.Fatalf("prefix %q", r.Prefix)
	}
	l := keys.Limits{Name: "placeholder"}
	storetest.Settle(t, r, mustAdmit(t, r, l), 1, 0)
	if st := storetest.Status(t, r, l); st.Requests != 1 {
		t.Fatalf("status %+v", st)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), "{env.LLM_ROUTER_TEST_REDIS}") {
		t.Fatalf("JSON %s", b)
	}
	// Cleanup of the test's own context also works after a failed Provision.
	bad := &Redis{URL: "{env.LLM_ROUTER_TEST_UNSET}"}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := bad.Provision(ctx); err == nil {
		t.Fatal("an empty URL provisioned")
	}
	if err := bad.Cleanup(); err != nil {
		t.Fatal(err)
	}
}
