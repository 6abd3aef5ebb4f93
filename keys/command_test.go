package keys

import (
	"bytes"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

var keyShape = regexp.MustCompile(`^sk-llmr-[0-9A-Za-z]{43}$`)

// TestLLMKeyCommand runs `caddy llm-key` as Caddy's command line builds it.
func TestLLMKeyCommand(t *testing.T) {
	c, ok := caddycmd.Commands()["llm-key"]
	if !ok {
		t.Fatal("llm-key is not registered")
	}
	cmd := &cobra.Command{Use: c.Name}
	c.CobraFunc(cmd)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !keyShape.MatchString(lines[0]) || lines[1] != HashForm(lines[0]) {
		t.Fatalf("output %q", out.String())
	}
	// The printed sha256: form authenticates the printed key.
	s, err := NewSet([]KeyConfig{{Secret: lines[1], Name: "new"}})
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := s.Authenticate(lines[0]); !ok || k.Name != "new" {
		t.Fatal("the sha256: form does not match the key")
	}
	cmd.SetArgs([]string{"extra"})
	if err := cmd.Execute(); err == nil {
		t.Fatal("llm-key took an argument")
	}
}

func TestNewKey(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k, h, err := NewKey(rand.Reader)
		if err != nil || !keyShape.MatchString(k) || h != HashForm(k) || seen[k] {
			t.Fatalf("%q %q %v", k, h, err)
		}
		seen[k] = true
	}
	// The extremes keep 43 digits: 0 pads, 2^256-1 fits.
	k, _, _ := NewKey(bytes.NewReader(make([]byte, 32)))
	if k != "sk-llmr-"+strings.Repeat("0", 43) {
		t.Fatalf("zero bytes: %s", k)
	}
	k, _, _ = NewKey(bytes.NewReader(bytes.Repeat([]byte{0xff}, 32)))
	if !keyShape.MatchString(k) || k[8] == '0' {
		t.Fatalf("0xff bytes: %s", k)
	}
	if _, _, err := NewKey(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("short random source accepted")
	}
	if h := HashForm("abc"); h != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashForm: %s", h)
	}
}
