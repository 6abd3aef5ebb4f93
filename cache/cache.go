package cache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Cache is a store with the flights of the requests being answered: while
// one request of a key is on its way upstream, identical ones wait for its
// answer instead of sending their own.
type Cache struct {
	store Store
	coord Coordinator // the store's, when it is shared among processes
	ttl   time.Duration

	mu      sync.Mutex
	flights map[Key]*Flight
}

// New returns a cache keeping entries in store for ttl.
func New(store Store, ttl time.Duration) *Cache {
	c := &Cache{store: store, ttl: ttl, flights: make(map[Key]*Flight)}
	c.coord, _ = store.(Coordinator)
	return c
}

// Store is the cache's store.
func (c *Cache) Store() Store { return c.store }

// TTL is how long entries are kept.
func (c *Cache) TTL() time.Duration { return c.ttl }

// Flight is a request that leads the answer of its key: the identical
// requests that arrive meanwhile wait for it. Its leader must call Done
// exactly once.
type Flight struct {
	c       *Cache
	key     Key
	done    chan struct{}
	entry   *Entry // the answer, set before done is closed; nil: none
	release func() // the shared store's lock, if taken
	waiting atomic.Int32
}

// Lookup finds the answer of k: the stored entry (a hit), or the answer of
// the identical request already on its way, here or — with a shared store
// — at another instance, waited for at most wait (also a hit). Otherwise
// it returns a Flight that the caller leads: it sends the request and
// reports the answer with Done. Both are nil when the caller should send
// the request without leading: the request it waited for failed or took
// longer than wait, or the store could not be reached while it waited.
// An error of the store is returned with what could still be decided (a
// flight, when the store is not reached).
func (c *Cache) Lookup(ctx context.Context, k Key, wait time.Duration) (*Entry, *Flight, error) {
	e, err := c.store.Get(ctx, k)
	if e != nil {
		return e, nil, nil
	}
	c.mu.Lock()
	if f := c.flights[k]; f != nil {
		c.mu.Unlock()
		return f.wait(ctx, wait), nil, err
	}
	f := &Flight{c: c, key: k, done: make(chan struct{})}
	c.flights[k] = f
	c.mu.Unlock()
	if err == nil {
		// The flight before this one may have stored its answer and ended
		// between the lookup above and this flight's start.
		if e, err = c.store.Get(ctx, k); e != nil {
			f.finish(e)
			return e, nil, nil
		}
	}
	if c.coord == nil || err != nil {
		return nil, f, err
	}
	e, release, err := c.coord.Lock(ctx, k, wait)
	switch {
	case err != nil:
		return nil, f, err // lead without the other instances
	case e != nil:
		f.finish(e) // another instance stored it meanwhile
		return e, nil, nil
	case release != nil:
		f.release = release
		return nil, f, nil
	}
	// Another instance leads: wait for it, with the requests of this
	// instance waiting on this flight.
	e, err = c.coord.Await(ctx, k, wait)
	if e != nil {
		f.finish(e)
		return e, nil, nil
	}
	if ctx.Err() != nil {
		f.finish(nil)
		return nil, nil, ctx.Err()
	}
	return nil, f, err // it failed or took too long: lead here
}

// Peek returns the stored entry of k without joining or leading a flight.
func (c *Cache) Peek(ctx context.Context, k Key) (*Entry, error) {
	return c.store.Get(ctx, k)
}

// Put stores e under k (for a request that led no flight).
func (c *Cache) Put(ctx context.Context, k Key, e *Entry) error {
	return c.store.Set(ctx, k, e, c.ttl)
}

// wait waits for the flight's answer, at most d.
func (f *Flight) wait(ctx context.Context, d time.Duration) *Entry {
	f.waiting.Add(1)
	defer f.waiting.Add(-1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-f.done:
		return f.entry
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}

// Done ends the flight with its answer: e is stored and handed to the
// waiting requests; nil (no complete answer, or one that must not be
// stored) lets each of them send its own.
func (f *Flight) Done(ctx context.Context, e *Entry) error {
	var err error
	if e != nil {
		err = f.c.store.Set(ctx, f.key, e, f.c.ttl)
	}
	f.finish(e)
	return err
}

func (f *Flight) finish(e *Entry) {
	f.c.mu.Lock()
	if f.c.flights[f.key] == f {
		delete(f.c.flights, f.key)
	}
	f.entry = e
	close(f.done)
	f.c.mu.Unlock()
	if f.release != nil {
		f.release()
		f.release = nil
	}
}
