package stats

import (
	"sync"
	"sync/atomic"
)

// Window is what finished within the last WindowSeconds for one name.
type Window struct {
	Requests int64
	Errors   int64
}

// winBucket counts one slot (step seconds) of a name's requests.
type winBucket struct {
	stamp atomic.Int64 // the slot counted (unix second / step)
	v     [2]atomic.Int64
}

// window is the ring of one target or key name.
type window struct {
	last atomic.Int64 // the last second recorded, for pruning
	b    []winBucket
}

// names maps target or key names to their windows. Lookups read an
// immutable map through an atomic pointer, so the hot path takes no lock;
// a new name copies the map under mu and drops names idle for longer than
// the window (plus a grace period, see add).
type names struct {
	step, n int64 // seconds per bucket, buckets per window
	mu      sync.Mutex
	m       atomic.Pointer[map[string]*window]
}

// pruneGrace is how much longer than a window a name must be idle before
// it is dropped; a writer that found it fresh has that long to count.
const pruneGrace = 60

func (ns *names) init(step, n int64) {
	ns.step, ns.n = step, n
	m := map[string]*window{}
	ns.m.Store(&m)
}

// span is the window's length in seconds.
func (ns *names) span() int64 { return ns.step * ns.n }

func (ns *names) add(name string, sec int64, failed bool) {
	w := (*ns.m.Load())[name]
	// A window idle for a whole span may be pruned concurrently: refresh it
	// under the lock instead.
	if w == nil || w.last.Load() < sec-ns.span() {
		w = ns.insert(name, sec)
	} else if w.last.Load() < sec {
		w.last.Store(sec)
	}
	slot := sec / ns.step
	b := &w.b[slot%ns.n]
	if !enter(&b.stamp, slot, b.v[:]) {
		return
	}
	b.v[0].Add(1)
	if failed {
		b.v[1].Add(1)
	}
}

// insert returns name's window, adding it if missing, and drops idle ones.
func (ns *names) insert(name string, sec int64) *window {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	old := *ns.m.Load()
	w := old[name]
	if w != nil {
		w.last.Store(sec)
		return w
	}
	w = &window{b: make([]winBucket, ns.n)}
	w.last.Store(sec)
	m := make(map[string]*window, len(old)+1)
	for k, v := range old {
		if v.last.Load() >= sec-ns.span()-pruneGrace {
			m[k] = v
		}
	}
	m[name] = w
	ns.m.Store(&m)
	return w
}

// get sums name's window ending at sec.
func (ns *names) get(name string, sec int64) Window {
	w := (*ns.m.Load())[name]
	if w == nil {
		return Window{}
	}
	var out Window
	if w.last.Load() <= sec-ns.span() {
		return out // idle for a whole window
	}
	// Every bucket whose slot lies in the window counts; walking the ring
	// in storage order needs no division per slot.
	cur := sec / ns.step
	oldest := cur - ns.n + 1
	for i := range w.b {
		b := &w.b[i]
		slot := b.stamp.Load()
		if slot < oldest || slot > cur {
			continue
		}
		req, errs := b.v[0].Load(), b.v[1].Load()
		if b.stamp.Load() == slot {
			out.Requests += req
			out.Errors += errs
		}
	}
	return out
}

// View reads the per-name windows as of one instant.
type View struct {
	rec *Recorder
	sec int64
}

// View returns a View as of the Recorder's current time.
func (rec *Recorder) View() View { return View{rec: rec, sec: rec.now().Unix()} }

// Target is what the target name finished in the last WindowSeconds.
func (v View) Target(name string) Window { return v.rec.targets.get(name, v.sec) }

// Key is what the key name finished in the last WindowSeconds (in steps of
// 5 s: between 295 and 300 seconds).
func (v View) Key(name string) Window { return v.rec.keys.get(name, v.sec) }
