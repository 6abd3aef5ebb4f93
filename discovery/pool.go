package discovery

import (
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// sources holds one Source per upstream identity (see Key), shared by
// every loaded config; the last Release of a key stops its refresher.
var sources = caddy.NewUsagePool()

// generation moves whenever any Source's list changes, so that what is
// derived from the lists (implicit groups, the models list) can be cached
// and rebuilt only then.
var generation atomic.Uint64

// running counts the refreshers alive (for tests).
var running atomic.Int64

// Generation is the version of all the discovered lists: it changes
// whenever one of them does.
func Generation() uint64 { return generation.Load() }

// Key is the identity of a Source: the target's name and base_url, as for
// the routing state, plus identity, a digest of whatever else decides what
// the fetch returns (provider, key, version, headers, interval). It must
// not be the key itself.
func Key(target, baseURL, identity string) string {
	return target + "\x00" + baseURL + "\x00" + identity
}

// Acquire returns the Source under key, creating it — and starting its
// refresher, which fetches at once in the background — on first use. A
// Source that already exists is returned as it is (its list, its
// refresher, a fetch in flight), now logging to logger. Every Acquire must
// be matched by exactly one Release.
func Acquire(key string, cfg Config, logger *zap.Logger) *Source {
	v, loaded, _ := sources.LoadOrNew(key, func() (caddy.Destructor, error) {
		running.Add(1)
		return newSource(cfg, logger), nil
	})
	s := v.(*Source)
	if loaded {
		s.setLogger(logger)
	}
	return s
}

// Release drops one reference to the Source under key; the last one stops
// its refresher and waits for it.
func Release(key string) {
	if deleted, _ := sources.Delete(key); deleted {
		running.Add(-1)
	}
}

// Refs reports how many loaded configs reference key (for tests).
func Refs(key string) int {
	n, _ := sources.References(key)
	return n
}

// Running is the number of refreshers alive in the process (for tests).
func Running() int { return int(running.Load()) }

// Report lists the status of every Source, in no particular order.
func Report() []Status {
	var out []Status
	sources.Range(func(_, v any) bool {
		out = append(out, v.(*Source).Status())
		return true
	})
	return out
}
