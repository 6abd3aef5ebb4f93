package keys

import "strings"

// glob is a model pattern where `*` matches any run of characters, `/`
// included. It is compiled once and matches without allocating.
type glob struct {
	parts []string // the literal pieces between stars
	star  bool
}

func compileGlob(pattern string) glob {
	return glob{parts: strings.Split(pattern, "*"), star: strings.Contains(pattern, "*")}
}

func (g glob) match(s string) bool {
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
