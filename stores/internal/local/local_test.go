package local

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores"
)

func TestQueue(t *testing.T) {
	var q queue[int]
	next, want := 0, 0
	for round := range 1000 {
		for range round % 7 {
			q.push(next)
			next++
		}
		for range round % 5 {
			if q.len() == 0 {
				break
			}
			if v := q.pop(); v != want {
				t.Fatalf("popped %d, want %d", v, want)
			}
			want++
		}
		if q.len() != next-want || (q.len() > 0 && q.at(0) != want) {
			t.Fatalf("len %d, want %d", q.len(), next-want)
		}
	}
	if cap(q.items) > 4*(next-want)+64 {
		t.Fatalf("capacity %d for %d items: space not reused", cap(q.items), next-want)
	}
}

// TestPruneConcurrent: pruning key names with nothing left, while requests
// come, loses no request.
func TestPruneConcurrent(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC).UnixNano())
	e := New(func() time.Time { return time.Unix(0, now.Load()) })
	l := keys.Limits{Name: "pruned", RPM: 40}
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				e.Prune()
			}
		}
	}()
	defer close(stop)
	for batch := range 20 {
		var admitted atomic.Int64
		var wg sync.WaitGroup
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := stores.Admission{Key: l, Tokens: 1}
				if tk, d := e.Admit(&a); d.OK {
					admitted.Add(1)
					e.Settle(tk, 1, 0)
				}
			}()
		}
		wg.Wait()
		if admitted.Load() != 40 || e.Status(l).Requests != 40 {
			t.Fatalf("batch %d: %d admitted, %d counted, want 40", batch, admitted.Load(), e.Status(l).Requests)
		}
		now.Add(int64(61 * time.Second)) // the window empties: the name may be pruned
	}
}
