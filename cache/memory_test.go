package cache

import (
	"context"
	"testing"
	"time"
)

func k(n byte) Key { return Key{n} }

// entry returns an entry whose Size is exactly size.
func entry(size int) *Entry {
	return &Entry{Body: make([]byte, size-entryOverhead)}
}

func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(3*1000, nil)
	for i := byte(1); i <= 3; i++ {
		if err := m.Set(ctx, k(i), entry(1000), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() != 3 || m.Size() != 3000 {
		t.Fatalf("len %d size %d, want 3 and 3000", m.Len(), m.Size())
	}
	// Using 1 makes 2 the least recently used.
	if e, _ := m.Get(ctx, k(1)); e == nil {
		t.Fatal("1 is missing")
	}
	_ = m.Set(ctx, k(4), entry(1000), time.Hour)
	if e, _ := m.Get(ctx, k(2)); e != nil {
		t.Error("2 was kept; it was the least recently used")
	}
	for _, i := range []byte{1, 3, 4} {
		if e, _ := m.Get(ctx, k(i)); e == nil {
			t.Errorf("%d was evicted", i)
		}
	}
	// Now 1 is the oldest use: an entry of 2000 bytes evicts 1 and 3.
	_ = m.Set(ctx, k(5), entry(2000), time.Hour)
	for i, want := range map[byte]bool{1: false, 3: false, 4: true, 5: true} {
		if e, _ := m.Get(ctx, k(i)); (e != nil) != want {
			t.Errorf("entry %d kept = %v, want %v", i, e != nil, want)
		}
	}
	if m.Size() != 3000 || m.Len() != 2 {
		t.Errorf("len %d size %d, want 2 and 3000", m.Len(), m.Size())
	}
}

func TestMemorySizeAccounting(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(10_000, nil)
	_ = m.Set(ctx, k(1), entry(1000), time.Hour)
	_ = m.Set(ctx, k(1), entry(3000), time.Hour) // replaced, not added
	if m.Size() != 3000 || m.Len() != 1 {
		t.Fatalf("after replacing: len %d size %d, want 1 and 3000", m.Len(), m.Size())
	}
	e := &Entry{ContentType: "application/json", Target: "t", Model: "gpt", Body: make([]byte, 500)}
	_ = m.Set(ctx, k(2), e, time.Hour)
	if want := int64(3000 + 500 + len("application/json") + 1 + 3 + entryOverhead); m.Size() != want {
		t.Errorf("size %d, want %d (body, strings and overhead)", m.Size(), want)
	}
}

func TestMemoryDeclinesEntryLargerThanStore(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(5000, nil)
	_ = m.Set(ctx, k(1), entry(1000), time.Hour)
	_ = m.Set(ctx, k(2), entry(5001), time.Hour)
	if e, _ := m.Get(ctx, k(2)); e != nil {
		t.Error("an entry larger than max_size was stored")
	}
	if e, _ := m.Get(ctx, k(1)); e == nil {
		t.Error("declining a large entry evicted another")
	}
	_ = m.Set(ctx, k(3), entry(5000), time.Hour) // exactly the size: kept, alone
	if e, _ := m.Get(ctx, k(3)); e == nil || m.Len() != 1 || m.Size() != 5000 {
		t.Errorf("an entry of exactly max_size: kept %v, len %d, size %d", e != nil, m.Len(), m.Size())
	}
}

func TestMemoryExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	m := NewMemory(10_000, func() time.Time { return now })
	_ = m.Set(ctx, k(1), entry(1000), time.Minute)
	now = now.Add(59 * time.Second)
	if e, _ := m.Get(ctx, k(1)); e == nil {
		t.Fatal("expired before its ttl")
	}
	now = now.Add(time.Second)
	if e, _ := m.Get(ctx, k(1)); e != nil {
		t.Fatal("served after its ttl")
	}
	if m.Len() != 0 || m.Size() != 0 {
		t.Errorf("an expired entry still counts: len %d size %d", m.Len(), m.Size())
	}
}

func TestEntryRoundTrip(t *testing.T) {
	in := &Entry{Stream: true, ContentType: "text/event-stream", Target: "t1", Model: "m1",
		Stored: time.UnixMilli(1_700_000_000_123), Body: []byte("data: {}\n\n")}
	in.Usage.PromptTokens, in.Usage.CompletionTokens, in.Usage.CacheReadTokens = 10, 20, 3
	in.Usage.CacheWriteTokens, in.Usage.ReasoningTokens, in.Usage.FinishReason = 4, 5, "stop"
	raw, _ := in.MarshalBinary()
	var out Entry
	if err := out.UnmarshalBinary(raw); err != nil {
		t.Fatal(err)
	}
	if out.Stream != in.Stream || out.ContentType != in.ContentType || out.Target != in.Target || out.Model != in.Model ||
		out.Usage != in.Usage || !out.Stored.Equal(in.Stored) || string(out.Body) != string(in.Body) {
		t.Errorf("round trip: got %+v, want %+v", out, *in)
	}
	for i := range len(raw) - len(in.Body) {
		if err := new(Entry).UnmarshalBinary(raw[:i]); err == nil {
			t.Errorf("a truncated entry (%d bytes) was read", i)
		}
	}
}

func BenchmarkMemoryGet(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(1<<30, nil)
	for i := range 1000 {
		_ = m.Set(ctx, Key{byte(i), byte(i >> 8)}, entry(2000), time.Hour)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		_, _ = m.Get(ctx, Key{byte(i % 1000), byte(i % 1000 >> 8)})
	}
}
