// Package discovery keeps the model lists that targets with `discover`
// fetch from their upstreams (SPEC 11): one Source per upstream identity,
// shared by every config and every llm_router block that names it, kept
// across reloads in a caddy.UsagePool; each Source owns the goroutine that
// refreshes it and stops it when the last config using it is cleaned up.
// Readers see the current list through an atomic pointer, without locks.
package discovery

// List is an immutable set of model names, in the order the upstream
// listed them. A nil *List is empty.
type List struct {
	names []string
	index map[string]struct{}
}

// NewList makes a List of names without duplicates (the first place kept)
// and without the names valid rejects (valid may be nil).
func NewList(names []string, valid func(string) bool) *List {
	l := &List{index: make(map[string]struct{}, len(names))}
	for _, n := range names {
		if _, dup := l.index[n]; dup || valid != nil && !valid(n) {
			continue
		}
		l.index[n] = struct{}{}
		l.names = append(l.names, n)
	}
	return l
}

// Has reports whether name is in the list.
func (l *List) Has(name string) bool {
	if l == nil {
		return false
	}
	_, ok := l.index[name]
	return ok
}

// Len is the number of names.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.names)
}

// Names are the names in order. The slice is shared: do not modify it.
func (l *List) Names() []string {
	if l == nil {
		return nil
	}
	return l.names
}

// Filter returns the names keep accepts, in order; with a nil keep, all.
func (l *List) Filter(keep func(string) bool) []string {
	if l == nil {
		return nil
	}
	if keep == nil {
		return append([]string(nil), l.names...)
	}
	var out []string
	for _, n := range l.names {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

// equal reports whether l and m hold the same names in the same order.
func (l *List) equal(m *List) bool {
	if l.Len() != m.Len() {
		return false
	}
	for i, n := range l.Names() {
		if m.names[i] != n {
			return false
		}
	}
	return true
}
