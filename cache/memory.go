package cache

import (
	"context"
	"sync"
	"time"
)

// Memory is a store in the process, bounded in bytes: when an entry does
// not fit, the least recently used ones are evicted; an entry larger than
// the whole store is not kept. Entries are kept whole, shared by every hit
// (no copy per hit).
type Memory struct {
	max int64
	now func() time.Time

	mu    sync.Mutex
	size  int64
	items map[Key]*item
	// head is the most recently used item, tail the least; a ring around
	// the sentinel root.
	root item
}

// item is one entry in the recency list.
type item struct {
	key        Key
	e          *Entry
	size       int64
	expires    int64 // unix nanoseconds
	prev, next *item
}

// NewMemory returns a store of at most max bytes (Entry.Size). now is the
// clock (time.Now when nil).
func NewMemory(max int64, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{max: max, now: now, items: make(map[Key]*item)}
	m.root.prev, m.root.next = &m.root, &m.root
	return m
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, k Key) (*Entry, error) {
	now := m.now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[k]
	if it == nil {
		return nil, nil
	}
	if now >= it.expires {
		m.remove(it)
		return nil, nil
	}
	m.unlink(it)
	m.pushFront(it)
	return it.e, nil
}

// Set implements Store. An entry larger than the store is declined.
func (m *Memory) Set(_ context.Context, k Key, e *Entry, ttl time.Duration) error {
	size := e.Size()
	if size > m.max || ttl <= 0 {
		return nil
	}
	expires := m.now().Add(ttl).UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.items[k]; old != nil {
		m.remove(old)
	}
	for m.size+size > m.max {
		m.remove(m.root.prev) // the least recently used
	}
	it := &item{key: k, e: e, size: size, expires: expires}
	m.items[k] = it
	m.size += size
	m.pushFront(it)
	return nil
}

// Len is the number of entries held (expired ones included until they are
// looked up or evicted).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// Size is the bytes held, as Entry.Size counts them.
func (m *Memory) Size() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.size
}

// Max is the store's bound in bytes.
func (m *Memory) Max() int64 { return m.max }

func (m *Memory) remove(it *item) {
	m.unlink(it)
	delete(m.items, it.key)
	m.size -= it.size
	it.e = nil
}

func (m *Memory) unlink(it *item) {
	it.prev.next, it.next.prev = it.next, it.prev
	it.prev, it.next = nil, nil
}

func (m *Memory) pushFront(it *item) {
	it.prev, it.next = &m.root, m.root.next
	m.root.next.prev = it
	m.root.next = it
}

// Interface guards
var _ Store = (*Memory)(nil)
