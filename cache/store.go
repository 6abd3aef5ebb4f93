package cache

import (
	"context"
	"time"
)

// Store keeps entries for a while. Every method is safe for concurrent
// use. Entries handed out are shared: callers must not change them.
type Store interface {
	// Get returns the entry of k, or nil when there is none (never
	// stored, expired or evicted).
	Get(ctx context.Context, k Key) (*Entry, error)
	// Set stores e under k for ttl, replacing what was there. A store may
	// decline an entry (one larger than it holds) without error.
	Set(ctx context.Context, k Key, e *Entry, ttl time.Duration) error
}

// Coordinator is implemented by stores shared among processes (Redis), so
// that identical requests arriving at different instances also send one
// upstream request: the first takes the key's lock; the others wait for
// the lock's release.
type Coordinator interface {
	// Lock returns k's entry when there is one (stored since the caller
	// looked), else takes k's lock for at most ttl, atomically. release is
	// nil when another request holds the lock; else it ends the lock and
	// wakes the waiters of every instance (after the answer, if any, was
	// stored).
	Lock(ctx context.Context, k Key, ttl time.Duration) (e *Entry, release func(), err error)
	// Await waits until k's lock is released or wait passed, then returns
	// k's entry (nil when there is none).
	Await(ctx context.Context, k Key, wait time.Duration) (*Entry, error)
}
