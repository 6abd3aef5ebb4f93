package stats

import (
	"runtime"
	"sync/atomic"
)

// claiming marks a bucket whose counters are being cleared for a new slot.
const claiming = -1

// enter makes the bucket stamped by stamp count for slot (a second, or a
// group of seconds), clearing vals first when it last counted an older
// slot. It reports false when the bucket already counts a newer slot: the
// caller is too late to be counted. Exactly one caller clears a bucket;
// the others wait for it, so no count is lost to the clearing.
func enter(stamp *atomic.Int64, slot int64, vals []atomic.Int64) bool {
	for {
		cur := stamp.Load()
		switch {
		case cur == slot:
			return true
		case cur == claiming:
			runtime.Gosched()
			continue
		case cur > slot:
			return false
		}
		if stamp.CompareAndSwap(cur, claiming) {
			for i := range vals {
				vals[i].Store(0)
			}
			stamp.Store(slot)
			return true
		}
	}
}
