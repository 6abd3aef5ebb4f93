package keys_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/filestorage"

	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores"
	"github.com/llmrouter/caddy-llm-router/stores/memory"
)

const secret = "sk-llmr-admin-SECRET-0001"

func newSet(t *testing.T, cfgs ...keys.KeyConfig) *keys.Set {
	t.Helper()
	s, err := keys.NewSet(cfgs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func names(rs []keys.KeyReport) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s:%d ", r.Name, r.RPM)
	}
	return strings.TrimSpace(b.String())
}

type brokenStore struct{}

func (brokenStore) Status(context.Context, keys.Limits) (keys.Status, error) {
	return keys.Status{}, errors.New("dial tcp 127.0.0.1:1: connection refused")
}

// TestRegistry: registrations are counted per name, as reloads and several
// llm_router blocks need.
func TestRegistry(t *testing.T) {
	ctx := context.Background()
	before := len(keys.Report(ctx))
	a := keys.Register(newSet(t, keys.KeyConfig{Secret: "a", Name: "reg-alice", RPM: 1}, keys.KeyConfig{Secret: "b", Name: "reg-bob", RPM: 1}), nil)
	// A reload: the new config registers before the old one leaves.
	b := keys.Register(newSet(t, keys.KeyConfig{Secret: "a", Name: "reg-alice", RPM: 2}), nil)
	if got := names(keys.Report(ctx)[before:]); got != "reg-alice:2 reg-bob:1" {
		t.Fatalf("two registrations: %s", got)
	}
	a.Unregister()
	a.Unregister()
	if got := names(keys.Report(ctx)[before:]); got != "reg-alice:2" {
		t.Fatalf("after the old config left: %s", got)
	}
	c := keys.Register(newSet(t, keys.KeyConfig{Secret: "x", Name: "reg-alice", RPM: 3}), brokenStore{})
	r := keys.Report(ctx)[before]
	if r.RPM != 3 || !strings.Contains(r.Error, "store unavailable") {
		t.Fatalf("a store that cannot be reached: %+v", r)
	}
	c.Unregister()
	b.Unregister()
	if n := len(keys.Report(ctx)); n != before {
		t.Fatalf("%d keys left after every registration left", n-before)
	}
	var none *keys.Registration
	none.Unregister()
}

// listed is a key as the admin API lists it, read as a client would.
type listed struct {
	Name     string   `json:"name"`
	Models   []string `json:"models"`
	RPM      int64    `json:"rpm"`
	TPM      int64    `json:"tpm"`
	Requests int64    `json:"requests"`
	Tokens   int64    `json:"tokens"`
	Budgets  []struct {
		Period    string  `json:"period"`
		USD       float64 `json:"usd"`
		Spend     float64 `json:"spend"`
		Reserved  float64 `json:"reserved"`
		Remaining float64 `json:"remaining"`
		End       string  `json:"period_end"`
	} `json:"budgets"`
}

// TestAdminKeys serves GET /llm_router/keys from a running Caddy's admin
// endpoint, with a memory store provisioned in that Caddy's context.
func TestAdminKeys(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf(`{"admin":{"listen":%q},"storage":{"module":"file_system","root":%q}}`, addr, t.TempDir())
	if err := caddy.Load([]byte(cfg), true); err != nil {
		t.Fatal(err)
	}
	defer caddy.Stop()

	ctx, cancel := caddy.NewContext(caddy.ActiveContext())
	defer cancel()
	st := new(memory.Memory)
	if err := st.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer st.Cleanup()
	set := newSet(t, keys.KeyConfig{Secret: secret, Name: "admin-alice", Models: []string{"gpt-*"}, RPM: 60, TPM: 10000,
		Budgets: []keys.BudgetConfig{{USD: 10, Period: keys.Daily}, {USD: 100, Period: keys.Total}}})
	reg := keys.Register(set, st)
	defer reg.Unregister()

	alice, _ := set.Authenticate(secret)
	tk, d, err := st.Admit(context.Background(), stores.Admission{Key: alice.Limits, Tokens: 500, Reserve: 0.5})
	if err != nil || !d.OK {
		t.Fatalf("%+v %v", d, err)
	}
	tk2, _, _ := st.Admit(context.Background(), stores.Admission{Key: alice.Limits, Tokens: 100, Reserve: 0.25})
	if err := st.Settle(context.Background(), tk2, 300, 0.125); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get("http://" + addr + "/llm_router/keys")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	h := sha256.Sum256([]byte(secret))
	if strings.Contains(string(body), "SECRET") || strings.Contains(string(body), hex.EncodeToString(h[:8])) {
		t.Fatalf("the listing shows the secret or its hash: %s", body)
	}
	var reports []listed
	if err := json.Unmarshal(body, &reports); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var r *listed
	for i := range reports {
		if reports[i].Name == "admin-alice" {
			r = &reports[i]
		}
	}
	if r == nil {
		t.Fatalf("admin-alice not listed: %s", body)
	}
	if r.RPM != 60 || r.TPM != 10000 || r.Requests != 2 || r.Tokens != 800 || len(r.Models) != 1 || len(r.Budgets) != 2 {
		t.Fatalf("%s", body)
	}
	if b := r.Budgets[0]; b.Period != "daily" || b.USD != 10 || b.Spend != 0.125 || b.Reserved != 0.5 || b.Remaining != 9.375 || b.End == "" {
		t.Fatalf("daily budget: %+v", b)
	}
	if b := r.Budgets[1]; b.Period != "total" || b.End != "" || b.Remaining != 99.375 {
		t.Fatalf("total budget: %+v", b)
	}
	_ = st.Settle(context.Background(), tk, 0, 0)

	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/llm_router/keys", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
}
