package local

import "time"

// Spend is the spend of one key name in one budget period.
type Spend struct {
	Key    string    `json:"key"`
	Period string    `json:"period"`
	End    time.Time `json:"end,omitzero"` // zero: the period never ends
	Nano   int64     `json:"spend_nano_usd"`
}

// Changed reports whether spend changed since the last call.
func (e *Engine) Changed() bool { return e.changed.Swap(false) }

// Spends returns the spend of every key name in every period not yet over,
// for persisting.
func (e *Engine) Spends() []Spend {
	now := e.now().UnixMilli()
	var out []Spend
	e.each(func(name string, ks *keyState) {
		for id, bs := range ks.budgets {
			if bs.spend != 0 && (bs.end == 0 || bs.end > now) {
				out = append(out, Spend{Key: name, Period: id, End: endTime(bs.end), Nano: bs.spend})
			}
		}
	})
	return out
}

// Restore adds persisted spend back, skipping periods that are over.
func (e *Engine) Restore(spends []Spend) {
	now := e.now()
	for _, s := range spends {
		if !s.End.IsZero() && !s.End.After(now) {
			continue
		}
		e.AddSpend(s.Key, s.Period, s.End, s.Nano)
	}
}

// AddSpend adds spend that was counted elsewhere (a restore, or a Redis
// settlement made while Redis was down).
func (e *Engine) AddSpend(name, period string, end time.Time, nano int64) {
	ks := e.lock(name)
	ks.budget(period, end).spend += nano
	ks.mu.Unlock()
	e.changed.Store(true)
}

// DrainSpend returns every non-zero spend and sets it to 0, for a fallback
// that hands its spend over to Redis once it is back.
func (e *Engine) DrainSpend() []Spend {
	var out []Spend
	e.each(func(name string, ks *keyState) {
		for id, bs := range ks.budgets {
			if bs.spend != 0 {
				out = append(out, Spend{Key: name, Period: id, End: endTime(bs.end), Nano: bs.spend})
				bs.spend = 0
			}
		}
	})
	return out
}

// SetBase records spend and reservations known elsewhere (Redis, when last
// reached), which the fallback's budget checks count on top of its own.
func (e *Engine) SetBase(name, period string, end time.Time, nano int64) {
	ks := e.lock(name)
	ks.budget(period, end).base = nano
	ks.mu.Unlock()
}

// Prune drops what no longer counts: requests and tokens out of the window,
// expired flights and reservations, periods over for a day with nothing
// reserved, and key names with nothing left.
func (e *Engine) Prune() {
	now := e.now().UnixMilli()
	e.mu.Lock()
	defer e.mu.Unlock()
	for name, ks := range e.keys {
		ks.mu.Lock()
		ks.sweep(now)
		for id, bs := range ks.budgets {
			bs.sweep(now)
			if bs.end != 0 && bs.end+int64(24*time.Hour/time.Millisecond) < now && len(bs.res) == 0 {
				delete(ks.budgets, id)
			}
		}
		if ks.reqs.len() == 0 && ks.toks.len() == 0 && len(ks.flights) == 0 && len(ks.budgets) == 0 {
			ks.dead = true
			delete(e.keys, name)
		}
		ks.mu.Unlock()
	}
}

// each calls f for every key name under its lock.
func (e *Engine) each(f func(name string, ks *keyState)) {
	e.mu.Lock()
	names := make(map[string]*keyState, len(e.keys))
	for n, ks := range e.keys {
		names[n] = ks
	}
	e.mu.Unlock()
	for n, ks := range names {
		ks.mu.Lock()
		f(n, ks)
		ks.mu.Unlock()
	}
}

func endTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// MarkChanged records that spend must be written again.
func (e *Engine) MarkChanged() { e.changed.Store(true) }
