// Package goldenfile compares test output with golden files in testdata/,
// or rewrites them when a test runs with its package's -update flag: the
// one set of helpers of every translation's golden tests.
package goldenfile

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Check compares got with the file at path byte for byte, or writes got
// there when update is set.
func Check(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run with -update to accept)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// JSON compares the JSON got with the JSON file at path, layout aside, or
// writes got there indented when update is set. got must be valid JSON.
func JSON(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if !json.Valid(got) {
		t.Fatalf("output is not valid JSON: %s", got)
	}
	if update {
		Check(t, path, Indent(t, got), true)
		return
	}
	var want, gotC bytes.Buffer
	if err := json.Compact(&want, Read(t, path)); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	_ = json.Compact(&gotC, got)
	if gotC.String() != want.String() {
		t.Errorf("%s differs (run with -update to accept)\n got: %s\nwant: %s", path, gotC.String(), want.String())
	}
}

// SameJSON reports whether a and b hold the same JSON value, whatever
// their layout and key order; it fails on invalid JSON.
func SameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

// Indent pretty-prints JSON for a readable golden file, with a final
// newline; it fails on invalid JSON.
func Indent(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// Read returns the file at path, failing the test when it cannot.
func Read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Cases returns the fixtures in testdata/ matching pattern, failing the
// test when there are none.
func Cases(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures match %s", pattern)
	}
	return files
}

// Seeds adds the fixtures in testdata/ matching pattern to a fuzz target's
// corpus, failing when there are none.
func Seeds(f *testing.F, pattern string) {
	f.Helper()
	for _, file := range Cases(f, pattern) {
		f.Add(Read(f, file))
	}
}
