package glob

import "testing"

func TestMatch(t *testing.T) {
	for pattern, cases := range map[string]map[string]bool{
		"gpt-*":          {"gpt-4o": true, "gpt-": true, "xgpt-4": false},
		"*":              {"": true, "anything/at all": true},
		"*-mini":         {"gpt-4o-mini": true, "mini": false},
		"a*b*c":          {"a-b-c": true, "abc": true, "acb": false},
		"a*a":            {"a": false, "aa": true},
		"a*b*a":          {"aba": true, "ab": false, "abba": true},
		"exact":          {"exact": true, "exactly": false},
		"meta-*/*":       {"meta-llama/x": true},
		"meta-llama/*":   {"meta-llama/llama-3-70b": true, "meta-llama": false},
		"claude-*-4-*":   {"claude-sonnet-4-5": true, "claude-4-5": false},
		"[openai]gpt-4o": {"[openai]gpt-4o": true},
	} {
		g := Compile(pattern)
		for s, want := range cases {
			if g.Match(s) != want {
				t.Errorf("%q ~ %q: %v", pattern, s, !want)
			}
		}
	}
	if IsGlob("gpt-4o") || !IsGlob("gpt-*") {
		t.Error("IsGlob")
	}
	if n := testing.AllocsPerRun(100, func() { Compile("a*b*c").Match("a-b-c") }); n > 1 {
		t.Errorf("%v allocations", n)
	}
}
