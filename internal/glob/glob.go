// Package glob matches model names against patterns where `*` matches any
// run of characters, `/` included (model names such as
// `meta-llama/llama-3-70b` contain one). A pattern is compiled once and
// matches without allocating.
package glob

import "strings"

// Glob is a compiled pattern.
type Glob struct {
	parts []string // the literal pieces between stars
	star  bool     // whether the pattern has a star at all
}

// Compile compiles pattern.
func Compile(pattern string) Glob {
	return Glob{parts: strings.Split(pattern, "*"), star: strings.Contains(pattern, "*")}
}

// IsGlob reports whether pattern has a star.
func IsGlob(pattern string) bool { return strings.Contains(pattern, "*") }

// Match reports whether s matches the pattern.
func (g Glob) Match(s string) bool {
	if !g.star {
		return s == g.parts[0]
	}
	first, last := g.parts[0], g.parts[len(g.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, p := range g.parts[1 : len(g.parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}
