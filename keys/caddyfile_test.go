package keys

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parseKey parses a `key` block as the handler does: d on the `key` token.
func parseKey(input string) (*KeyConfig, error) {
	tokens, err := caddyfile.Tokenize([]byte(input), "Caddyfile")
	if err != nil {
		return nil, err
	}
	d := caddyfile.NewDispenser(tokens)
	if !d.Next() {
		return nil, d.Err("empty")
	}
	return UnmarshalKey(d)
}

func TestUnmarshalKey(t *testing.T) {
	c, err := parseKey(`key {env.ALICE_KEY} {
		name    alice
		models  gpt-4o* claude-*
		models  fast
		targets openai
		rpm     60
		tpm     100000
		budget  10 daily
		budget  100.5 monthly
		budget  1000 total
	}`)
	if err != nil {
		t.Fatal(err)
	}
	want := &KeyConfig{Secret: "{env.ALICE_KEY}", Name: "alice", Models: []string{"gpt-4o*", "claude-*", "fast"},
		Targets: []string{"openai"}, RPM: 60, TPM: 100000,
		Budgets: []BudgetConfig{{10, Daily}, {100.5, Monthly}, {1000, Total}}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	b, _ := json.Marshal(c)
	const js = `{"secret":"{env.ALICE_KEY}","name":"alice","models":["gpt-4o*","claude-*","fast"],"targets":["openai"],"rpm":60,"tpm":100000,"budgets":[{"usd":10,"period":"daily"},{"usd":100.5,"period":"monthly"},{"usd":1000,"period":"total"}]}`
	if string(b) != js {
		t.Fatalf("JSON %s", b)
	}
	c, err = parseKey("key \"sha256:" + strings.Repeat("ab", 32) + "\" {\n\tname bob\n}")
	if err != nil || c.Name != "bob" || c.Secret != "sha256:"+strings.Repeat("ab", 32) || c.RPM != 0 || c.Budgets != nil {
		t.Fatalf("minimal key: %+v %v", c, err)
	}
}

func TestUnmarshalKeyErrors(t *testing.T) {
	const secret = "sk-llmr-VERYSECRET"
	for _, tc := range []struct{ body, want string }{
		{"key", "expected <secret>"},
		{"key " + secret, "`name` is required"},
		{"key " + secret + " {\n}", "`name` is required"},
		{"key " + secret + " " + secret + "2 {\n\tname a\n}", "expected one secret"},
		{"key " + secret + " {\n\tname\n}", "name: expected a label"},
		{"key " + secret + " {\n\tname a b\n}", "name: expected one label"},
		{"key " + secret + " {\n\tname a\n\tname b\n}", "name: given twice"},
		{"key " + secret + " {\n\tname a\n\tmodels\n}", "models: expected"},
		{"key " + secret + " {\n\tname a\n\ttargets\n}", "targets: expected"},
		{"key " + secret + " {\n\tname a\n\trpm\n}", "rpm: expected a number"},
		{"key " + secret + " {\n\tname a\n\trpm ten\n}", `rpm: "ten" is not a whole number above 0`},
		{"key " + secret + " {\n\tname a\n\trpm 0\n}", "rpm: \"0\" is not"},
		{"key " + secret + " {\n\tname a\n\trpm -5\n}", "rpm: \"-5\" is not"},
		{"key " + secret + " {\n\tname a\n\ttpm 5 6\n}", "tpm: expected one number"},
		{"key " + secret + " {\n\tname a\n\tbudget 10\n}", "budget: expected <usd> daily|weekly|monthly|total"},
		{"key " + secret + " {\n\tname a\n\tbudget 10 daily extra\n}", "budget: expected <usd>"},
		{"key " + secret + " {\n\tname a\n\tbudget ten daily\n}", `budget: "ten" is not an amount`},
		{"key " + secret + " {\n\tname a\n\tbudget -1 daily\n}", "is not an amount"},
		{"key " + secret + " {\n\tname a\n\tbudget NaN daily\n}", "is not an amount"},
		{"key " + secret + " {\n\tname a\n\tbudget 1e12 daily\n}", "is not an amount"},
		{"key " + secret + " {\n\tname a\n\tbudget 10 yearly\n}", `period "yearly" is not`},
		{"key " + secret + " {\n\tname a\n\tbudget 10 daily\n\tbudget 20 daily\n}", "a daily budget is already set"},
		{"key " + secret + " {\n\tname a\n\tlimit 10\n}", `unrecognized subdirective "limit"`},
	} {
		_, err := parseKey(tc.body)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Caddyfile:") {
			t.Errorf("%q: %v, want %q with the file and line", tc.body, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "VERYSECRET") {
			t.Errorf("%q: the error shows the secret: %v", tc.body, err)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := KeyConfig{Secret: "s", Name: "a"}
	for _, tc := range []struct {
		cfgs []KeyConfig
		want string
	}{
		{[]KeyConfig{ok, {Secret: "t", Name: "a"}}, `key "a": name used twice`},
		{[]KeyConfig{ok, {Secret: "sk-VERYSECRET"}}, "key #2: name is required"},
		{[]KeyConfig{{Name: "a"}}, `key "a": secret is required`},
		{[]KeyConfig{{Secret: "s", Name: "a", RPM: -1}}, "rpm must not be negative"},
		{[]KeyConfig{{Secret: "s", Name: "a", TPM: -1}}, "tpm must not be negative"},
		{[]KeyConfig{{Secret: "s", Name: "a", Budgets: []BudgetConfig{{1, "yearly"}}}}, `period "yearly"`},
		{[]KeyConfig{{Secret: "s", Name: "a", Budgets: []BudgetConfig{{0, Daily}}}}, "must be above 0"},
		{[]KeyConfig{{Secret: "s", Name: "a", Budgets: []BudgetConfig{{1, Daily}, {2, Daily}}}}, "two daily budgets"},
		{[]KeyConfig{{Secret: "s", Name: "a", Models: []string{""}}}, "empty model pattern"},
		{[]KeyConfig{{Secret: "s", Name: "a", Targets: []string{""}}}, "empty target name"},
	} {
		err := Validate(tc.cfgs)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "VERYSECRET") {
			t.Errorf("%+v: %v, want %q", tc.cfgs, err, tc.want)
		}
	}
	if err := Validate([]KeyConfig{ok, {Secret: "t", Name: "b"}}); err != nil {
		t.Fatal(err)
	}
}
