package cache

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/llmrouter/caddy-llm-router/internal/redistest"
)

// instance is a Redis store with a client of its own, as another Caddy
// process would have.
func instance(t *testing.T, url string) *Redis {
	t.Helper()
	opt, err := ParseRedisURL(url)
	if err != nil {
		t.Fatal(err)
	}
	b := &redisBackend{client: goredis.NewClient(opt), prefix: "test:" + t.Name() + ":", waiters: make(map[Key][]chan struct{})}
	t.Cleanup(func() { _ = b.Destruct() })
	return &Redis{b: b}
}

func TestRedisStore(t *testing.T) {
	srv := redistest.Start(t)
	r := instance(t, srv.URL)
	ctx := context.Background()
	if e, err := r.Get(ctx, k(1)); e != nil || err != nil {
		t.Fatalf("empty store: %v, %v", e, err)
	}
	in := &Entry{Stream: true, ContentType: "text/event-stream", Target: "t", Model: "m", Body: []byte("data: x\n\n")}
	in.Usage.PromptTokens = 7
	if err := r.Set(ctx, k(1), in, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	other := instance(t, srv.URL)
	e, err := other.Get(ctx, k(1))
	if err != nil || e == nil || string(e.Body) != "data: x\n\n" || !e.Stream || e.Usage.PromptTokens != 7 || e.Target != "t" {
		t.Fatalf("another instance read %+v, %v", e, err)
	}
	waitFor(t, func() bool { e, _ := other.Get(ctx, k(1)); return e == nil })
	// An entry above MaxRedisEntry is not stored.
	_ = r.Set(ctx, k(2), &Entry{Body: make([]byte, MaxRedisEntry)}, time.Hour)
	if e, _ := r.Get(ctx, k(2)); e != nil {
		t.Error("an entry above MaxRedisEntry was stored")
	}
}

func TestRedisFlightAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	a, b := New(instance(t, srv.URL), time.Hour), New(instance(t, srv.URL), time.Hour)
	ctx := context.Background()
	_, lead, err := a.Lookup(ctx, k(1), 10*time.Second)
	if lead == nil || err != nil {
		t.Fatalf("the first request leads no flight: %v", err)
	}
	// Requests at the other instance wait for the leader's answer.
	const n = 4
	var wg sync.WaitGroup
	got := make(chan *Entry, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, f, err := b.Lookup(ctx, k(1), 10*time.Second)
			if f != nil || err != nil {
				t.Errorf("a request at the other instance led (%v) or failed (%v)", f != nil, err)
				if f != nil {
					_ = f.Done(ctx, nil)
				}
			}
			got <- e
		}()
	}
	waitFor(t, func() bool { return waiters(b, k(1)) == 1 && flightWaiters(b, k(1)) == n-1 })
	if err := lead.Done(ctx, &Entry{Body: []byte("answer")}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(got)
	for e := range got {
		if e == nil || string(e.Body) != "answer" {
			t.Errorf("a waiter got %v", e)
		}
	}
}

func TestRedisLeaderFailingAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	a, b := New(instance(t, srv.URL), time.Hour), New(instance(t, srv.URL), time.Hour)
	ctx := context.Background()
	_, lead, _ := a.Lookup(ctx, k(1), 10*time.Second)
	done := make(chan *Flight, 1)
	go func() {
		e, f, _ := b.Lookup(ctx, k(1), 10*time.Second)
		if e != nil {
			t.Error("a hit after the leader failed")
		}
		done <- f
	}()
	waitFor(t, func() bool { return waiters(b, k(1)) == 1 })
	start := time.Now()
	_ = lead.Done(ctx, nil)
	f := <-done
	if f == nil {
		t.Fatal("the waiter does not lead after the leader failed")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the waiter took %s to learn of the failure", d)
	}
	_ = f.Done(ctx, nil)
}

func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	r := instance(t, srv.URL)
	c := New(r, time.Hour)
	srv.Stop()
	start := time.Now()
	e, f, err := c.Lookup(context.Background(), k(1), time.Minute)
	if e != nil || f == nil || err == nil {
		t.Fatalf("redis down: entry %v, flight %v, err %v; want a flight and an error", e, f, err)
	}
	_ = f.Done(context.Background(), &Entry{Body: []byte("x")}) // fails quietly
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a lookup with redis down took %s", d)
	}
	// Meanwhile the store is left alone: no round trip per request.
	trips := r.RoundTrips()
	_, _, _ = c.Lookup(context.Background(), k(2), time.Minute)
	if r.RoundTrips() != trips {
		t.Error("a lookup tried redis again at once")
	}
}

func TestParseRedisURLHidesPassword(t *testing.T) {
	for _, u := range []string{"http://x", "redis://", "redis://:s3cret@host:6379/notadb"} {
		_, err := ParseRedisURL(u)
		if err == nil {
			t.Errorf("%q accepted", u)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error quotes the password: %v", err)
		}
	}
}

// waiters counts the requests of r's instance listening for k's release.
func waiters(c *Cache, k Key) int {
	b := c.store.(*Redis).b
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiters[k])
}

// A request that looked before another instance stored its answer and
// released its lock gets that answer from Lock, instead of leading a second
// upstream request.
func TestRedisLockAfterAnotherStored(t *testing.T) {
	srv := redistest.Start(t)
	a, b := instance(t, srv.URL), instance(t, srv.URL)
	ctx := context.Background()
	_, release, err := a.Lock(ctx, k(1), time.Minute)
	if release == nil || err != nil {
		t.Fatalf("the first lock: %v", err)
	}
	if e, rel, err := b.Lock(ctx, k(1), time.Minute); e != nil || rel != nil || err != nil {
		t.Fatalf("a held lock was taken: %v %v %v", e, rel != nil, err)
	}
	_ = a.Set(ctx, k(1), &Entry{Body: []byte("answer")}, time.Minute)
	release()
	e, rel, err := b.Lock(ctx, k(1), time.Minute)
	if e == nil || string(e.Body) != "answer" || rel != nil || err != nil {
		t.Fatalf("after the other stored and released: entry %v, lock taken %v, %v", e, rel != nil, err)
	}
}
