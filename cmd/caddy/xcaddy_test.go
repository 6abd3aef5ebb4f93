package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestXcaddyBuild does what `xcaddy build --with
// github.com/llmrouter/caddy-llm-router=<checkout>` does: a temporary main
// module importing Caddy, the standard modules and this plugin, with a
// `replace` to the checkout; then it builds, lists the modules and adapts a
// Caddyfile with the resulting binary.
func TestXcaddyBuild(t *testing.T) {
	checkout, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	caddyVersion := requiredVersion(t, filepath.Join(checkout, "go.mod"), "github.com/caddyserver/caddy/v2")
	dir := t.TempDir()
	main := `package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// plug in Caddy modules here
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/llmrouter/caddy-llm-router"
)

func main() {
	caddycmd.Main()
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	run(gobin, "mod", "init", "caddy")
	run(gobin, "mod", "edit", "-replace", "github.com/llmrouter/caddy-llm-router="+checkout)
	run(gobin, "get", "github.com/caddyserver/caddy/v2@"+caddyVersion)
	// With the replace in place, tidy requires the plugin at the zero
	// pseudo-version, resolved to the checkout (what xcaddy ends up with).
	run(gobin, "mod", "tidy", "-e")
	run(gobin, "build", "-o", "caddy", ".")

	bin := filepath.Join(dir, "caddy")
	modules := run(bin, "list-modules")
	for _, want := range []string{
		"http.handlers.llm_router", "http.llm_router.providers.openai", "http.llm_router.providers.mock",
		"http.llm_router.providers.azure", "http.llm_router.providers.anthropic", "http.llm_router.providers.gemini",
		"http.llm_router.selection_policies.weighted", "http.llm_router.selection_policies.sticky",
		"http.handlers.reverse_proxy",
	} {
		if !strings.Contains(modules, want+"\n") {
			t.Errorf("list-modules lacks %s", want)
		}
	}
	adapted := run(bin, "adapt", "--config", filepath.Join(checkout, "examples", "quickstart.Caddyfile"))
	if !strings.Contains(adapted, `"handler":"llm_router"`) || !strings.Contains(adapted, `"provider":"mock"`) {
		t.Errorf("adapt output lacks the router: %s", adapted)
	}
}

// requiredVersion reads the version of module path from a go.mod.
func requiredVersion(t *testing.T, gomod, path string) string {
	t.Helper()
	data, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == path {
			return fields[1]
		}
		if len(fields) >= 3 && fields[0] == "require" && fields[1] == path {
			return fields[2]
		}
	}
	t.Fatalf("%s does not require %s", gomod, path)
	return ""
}
