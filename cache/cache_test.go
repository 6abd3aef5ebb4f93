package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// upstream counts calls and answers each when released.
type upstream struct {
	calls   atomic.Int32
	release chan struct{}
}

// serve is one request through the cache as the router makes it: lookup,
// else the upstream call, then Done.
func serve(ctx context.Context, c *Cache, k Key, up *upstream, fail bool) (*Entry, bool, error) {
	e, f, _ := c.Lookup(ctx, k, 10*time.Second)
	if e != nil {
		return e, true, nil
	}
	up.calls.Add(1)
	<-up.release
	if fail {
		if f != nil {
			_ = f.Done(ctx, nil)
		}
		return nil, false, errors.New("upstream failed")
	}
	e = &Entry{Body: []byte("answer")}
	if f != nil {
		return e, false, f.Done(ctx, e)
	}
	return e, false, c.Put(ctx, k, e)
}

func TestFlightCollapsesIdenticalRequests(t *testing.T) {
	c := New(NewMemory(1<<20, nil), time.Hour)
	up := &upstream{release: make(chan struct{})}
	const n = 20
	var wg sync.WaitGroup
	results := make(chan *Entry, n)
	hits := atomic.Int32{}
	// The leader first, so that the others find its flight.
	wg.Add(1)
	go func() {
		defer wg.Done()
		e, _, err := serve(context.Background(), c, k(1), up, false)
		if err != nil {
			t.Error(err)
		}
		results <- e
	}()
	waitFor(t, func() bool { return up.calls.Load() == 1 })
	for range n - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, hit, err := serve(context.Background(), c, k(1), up, false)
			if err != nil {
				t.Error(err)
			}
			if hit {
				hits.Add(1)
			}
			results <- e
		}()
	}
	// Every follower is waiting on the flight (none can have called
	// upstream: the leader has not been released).
	waitFor(t, func() bool { return flightWaiters(c, k(1)) == n-1 })
	close(up.release)
	wg.Wait()
	close(results)
	if got := up.calls.Load(); got != 1 {
		t.Errorf("%d upstream calls, want 1", got)
	}
	if hits.Load() != n-1 {
		t.Errorf("%d hits, want %d", hits.Load(), n-1)
	}
	for e := range results {
		if e == nil || string(e.Body) != "answer" {
			t.Errorf("a request got %v", e)
		}
	}
	// And the answer was stored: the next request is a plain hit.
	if e, f, _ := c.Lookup(context.Background(), k(1), time.Second); e == nil || f != nil {
		t.Error("the answer was not stored")
	}
}

func TestFlightLeaderFailingLetsWaitersGoThemselves(t *testing.T) {
	c := New(NewMemory(1<<20, nil), time.Hour)
	up := &upstream{release: make(chan struct{})}
	leaderDone := make(chan error, 1)
	go func() {
		_, _, err := serve(context.Background(), c, k(1), up, true)
		leaderDone <- err
	}()
	waitFor(t, func() bool { return up.calls.Load() == 1 })
	const n = 5
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, hit, err := serve(context.Background(), c, k(1), up, false)
			if err != nil || hit || e == nil {
				t.Errorf("a waiter: entry %v, hit %v, err %v; want its own answer", e, hit, err)
			}
		}()
	}
	waitFor(t, func() bool { return flightWaiters(c, k(1)) == n })
	close(up.release)
	if err := <-leaderDone; err == nil {
		t.Error("the leader did not fail")
	}
	wg.Wait()
	if got := up.calls.Load(); got != 1+n {
		t.Errorf("%d upstream calls, want %d (the leader's, then each waiter's own)", got, 1+n)
	}
}

func TestFlightWaitIsBounded(t *testing.T) {
	c := New(NewMemory(1<<20, nil), time.Hour)
	_, f, _ := c.Lookup(context.Background(), k(1), time.Hour)
	if f == nil {
		t.Fatal("the first request leads no flight")
	}
	start := time.Now()
	e, f2, _ := c.Lookup(context.Background(), k(1), 50*time.Millisecond)
	if e != nil || f2 != nil {
		t.Fatalf("a waiter whose wait ran out got entry %v, flight %v; want neither", e, f2)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("returned after %s, before its wait", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if e, f2, _ := c.Lookup(ctx, k(1), time.Hour); e != nil || f2 != nil {
		t.Error("a cancelled waiter got something")
	}
	_ = f.Done(context.Background(), nil)
}

// flightWaiters counts the goroutines blocked on k's flight.
func flightWaiters(c *Cache, k Key) int {
	c.mu.Lock()
	f := c.flights[k]
	c.mu.Unlock()
	if f == nil {
		return 0
	}
	return int(f.waiting.Load())
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
