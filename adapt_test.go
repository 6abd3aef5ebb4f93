package llmrouter

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Each file in testdata/caddyfile_adapt holds a Caddyfile, a line of
// dashes, and the JSON that `caddy adapt` must produce.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob("testdata/caddyfile_adapt/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			caddyfile, expected, _ := strings.Cut(string(data), "----------")
			caddyfile = strings.TrimSpace(caddyfile) + "\n"
			if *update {
				out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
				if err != nil {
					t.Fatal(err)
				}
				var pretty bytes.Buffer
				_ = json.Indent(&pretty, out, "", "\t")
				_ = os.WriteFile(file, []byte(caddyfile+"----------\n"+pretty.String()+"\n"), 0o644)
				return
			}
			if !caddytest.CompareAdapt(t, file, caddyfile, "caddyfile", strings.TrimSpace(expected)) {
				t.Fatalf("adapting %s gave other JSON (run with -update to see)", file)
			}
		})
	}
}

// The JSON of every golden file decodes into the handler and encodes back
// to the same JSON: the JSON config is as supported as the Caddyfile.
func TestJSONRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/caddyfile_adapt/*.txt")
	handlers := 0
	defer func() {
		if handlers < len(files) {
			t.Errorf("found %d llm_router handlers in %d files", handlers, len(files))
		}
	}()
	for _, file := range files {
		data, _ := os.ReadFile(file)
		_, expected, _ := strings.Cut(string(data), "----------")
		var doc any
		if err := json.Unmarshal([]byte(expected), &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, raw := range findHandlers(doc) {
			handlers++
			var handler Handler
			if err := json.Unmarshal(raw, &handler); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			out, err := json.Marshal(handler)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Replace(compactJSON(t, string(raw)), `"handler":"llm_router",`, "", 1)
			if got := compactJSON(t, string(out)); got != want {
				t.Errorf("%s: round trip\n got %s\nwant %s", file, got, want)
			}
		}
	}
}

// findHandlers returns the JSON of every llm_router handler in a config,
// however deeply nested in subroutes.
func findHandlers(v any) []json.RawMessage {
	var out []json.RawMessage
	switch v := v.(type) {
	case map[string]any:
		if v["handler"] == "llm_router" {
			raw, _ := json.Marshal(v)
			return []json.RawMessage{raw}
		}
		for _, child := range v {
			out = append(out, findHandlers(child)...)
		}
	case []any:
		for _, child := range v {
			out = append(out, findHandlers(child)...)
		}
	}
	return out
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
