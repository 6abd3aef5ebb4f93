package llm

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, `[]`, ` {"a" : [1, -2.5e+3, 0, "x\"\\\/\u00e9", true, false, null, {}, []]} `,
		`"s"`, `0`, `-0.1E-2`, `{"a":{"b":{"c":[[[]]]}}}`,
	} {
		if err := CheckJSON([]byte(s), 10); err != nil {
			t.Errorf("%s: %v", s, err)
		}
		if !json.Valid([]byte(s)) {
			t.Fatalf("test case %s is not JSON", s)
		}
	}
	for _, s := range []string{
		``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a"}`, `{a:1}`, `[1 2]`, `01`, `1.`, `.5`, `-`, `1e`,
		`"\x"`, "\"a\x01\"", `"\u12g4"`, `tru`, `nul`, `{"a":1}}`, `[}`, `{]`, `[1]x`, `"abc`, `{"a":}`,
	} {
		if err := CheckJSON([]byte(s), 10); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestCheckJSONDepth(t *testing.T) {
	nest := func(n int) []byte {
		return []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
	}
	if err := CheckJSON(nest(MaxDepth), MaxDepth); err != nil {
		t.Fatalf("%d levels: %v", MaxDepth, err)
	}
	if err := CheckJSON(nest(MaxDepth+1), MaxDepth); err != ErrTooDeep {
		t.Fatalf("%d levels: %v", MaxDepth+1, err)
	}
	// Ten million open brackets: refused at once, without recursion.
	deep := append([]byte(`{"model":"x","messages":`), bytes.Repeat([]byte("["), 10_000_000)...)
	if err := CheckJSON(deep, MaxDepth); err != ErrTooDeep {
		t.Fatalf("deep: %v", err)
	}
	allocs := testing.AllocsPerRun(10, func() { _ = CheckJSON(deep[:5000], MaxDepth) })
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

// CheckJSON agrees with encoding/json on what is valid (within its depth).
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `[[[[`, `"\u00ff"`, `1e5`, `{"":""}`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := CheckJSON(b, MaxDepth)
		if err == ErrTooDeep {
			return
		}
		valid := json.Valid(b)
		if (err == nil) != valid {
			t.Fatalf("CheckJSON %v, encoding/json valid %v: %q", err, valid, b)
		}
	})
}
