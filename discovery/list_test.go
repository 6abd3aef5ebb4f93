package discovery

import (
	"slices"
	"strings"
	"testing"
)

func TestList(t *testing.T) {
	l := NewList([]string{"b", "a", "b", "", "bad\nname", "c"}, func(s string) bool { return s != "" && !strings.ContainsRune(s, '\n') })
	if !slices.Equal(l.Names(), []string{"b", "a", "c"}) || l.Len() != 3 {
		t.Fatalf("names %v", l.Names())
	}
	if !l.Has("a") || l.Has("") || l.Has("bad\nname") || l.Has("d") {
		t.Fatal("Has")
	}
	if got := l.Filter(func(s string) bool { return s != "a" }); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("filter %v", got)
	}
	all := l.Filter(nil)
	all[0] = "changed"
	if l.Names()[0] != "b" {
		t.Fatal("Filter(nil) shares the list's slice")
	}
	var none *List
	if none.Len() != 0 || none.Has("a") || none.Names() != nil || none.Filter(nil) != nil {
		t.Fatal("a nil list is not empty")
	}
	if !l.equal(NewList([]string{"b", "a", "c"}, nil)) || l.equal(NewList([]string{"a", "b", "c"}, nil)) || l.equal(nil) {
		t.Fatal("equal")
	}
	if !none.equal(NewList(nil, nil)) {
		t.Fatal("nil and empty lists differ")
	}
}
