// Package local counts requests, tokens and spend of router keys in the
// process: the engine of the memory store and the fallback of a fail-open
// Redis store. Each key name has its own lock, under which an admission
// checks and counts everything at once.
package local

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores"
)

const spanMs = int64(stores.WindowSpan / time.Millisecond)

// Engine holds the counters of every key name.
type Engine struct {
	now     func() time.Time
	mu      sync.Mutex
	keys    map[string]*keyState
	changed atomic.Bool // spend changed since the last Changed call
}

type keyState struct {
	mu        sync.Mutex
	dead      bool         // pruned: look the name up again
	reqs      queue[int64] // admission times of the window, unix ms
	toks      queue[tokenEntry]
	tokSum    int64 // tokens in toks
	flights   map[string]flight
	flightSum int64
	flightMin int64 // earliest flight expiry, unix ms; 0: none
	budgets   map[string]*budgetState
}

type tokenEntry struct{ at, n int64 }

type flight struct{ n, expires int64 }

type budgetState struct {
	spend, reserved int64
	base            int64 // spend known elsewhere (the fallback's last view of Redis)
	end             int64 // unix ms; 0: never
	res             map[string]flight
	resMin          int64
}

// New returns an empty engine reading time from now (time.Now when nil).
func New(now func() time.Time) *Engine {
	if now == nil {
		now = time.Now
	}
	return &Engine{now: now, keys: make(map[string]*keyState)}
}

// lock returns the state of a key name, created if need be, locked.
func (e *Engine) lock(name string) *keyState {
	for {
		e.mu.Lock()
		ks := e.keys[name]
		if ks == nil {
			ks = &keyState{flights: make(map[string]flight), budgets: make(map[string]*budgetState)}
			e.keys[name] = ks
		}
		e.mu.Unlock()
		ks.mu.Lock()
		if !ks.dead {
			return ks
		}
		ks.mu.Unlock()
	}
}

func (ks *keyState) budget(period string, end time.Time) *budgetState {
	bs := ks.budgets[period]
	if bs == nil {
		bs = &budgetState{res: make(map[string]flight)}
		if !end.IsZero() {
			bs.end = end.UnixMilli()
		}
		ks.budgets[period] = bs
	}
	return bs
}

// sweep drops what left the window or expired.
func (ks *keyState) sweep(now int64) {
	cutoff := now - spanMs
	for ks.reqs.len() > 0 && ks.reqs.at(0) <= cutoff {
		ks.reqs.pop()
	}
	for ks.toks.len() > 0 && ks.toks.at(0).at <= cutoff {
		ks.tokSum -= ks.toks.pop().n
	}
	if ks.flightMin != 0 && now >= ks.flightMin {
		ks.flightMin = 0
		for id, f := range ks.flights {
			if f.expires <= now {
				delete(ks.flights, id)
				ks.flightSum -= f.n
			} else if ks.flightMin == 0 || f.expires < ks.flightMin {
				ks.flightMin = f.expires
			}
		}
	}
}

func (bs *budgetState) sweep(now int64) {
	if bs.resMin == 0 || now < bs.resMin {
		return
	}
	bs.resMin = 0
	for id, r := range bs.res {
		if r.expires <= now {
			delete(bs.res, id)
			bs.reserved -= r.n
		} else if bs.resMin == 0 || r.expires < bs.resMin {
			bs.resMin = r.expires
		}
	}
}

func (bs *budgetState) reserve(id string, n, expires int64) {
	bs.res[id] = flight{n: n, expires: expires}
	bs.reserved += n
	if bs.resMin == 0 || expires < bs.resMin {
		bs.resMin = expires
	}
}

func (bs *budgetState) release(id string) {
	if r, ok := bs.res[id]; ok {
		delete(bs.res, id)
		bs.reserved -= r.n
	}
}

// Admit checks and counts one request atomically (see stores.Store).
func (e *Engine) Admit(a *stores.Admission) (*stores.Ticket, stores.Decision) {
	ks := e.lock(a.Key.Name)
	defer ks.mu.Unlock()
	now := e.now()
	t := stores.NewTicket(a, now)
	ms := now.UnixMilli()
	ks.sweep(ms)

	o := stores.Outcome{Requests: int64(ks.reqs.len()), Tokens: ks.tokSum + ks.flightSum}
	fits := true
	if n := ks.reqs.len(); n > 0 {
		o.RequestReset = msDur(ks.reqs.at(0) + spanMs - ms)
		if rpm := a.Key.RPM; rpm > 0 && int64(n)+1 > rpm {
			fits = false
			o.RequestRetry = msDur(ks.reqs.at(n-int(rpm)) + spanMs - ms)
		}
	}
	if ks.toks.len() > 0 {
		o.TokenReset = msDur(ks.toks.at(0).at + spanMs - ms)
	}
	if tpm := a.Key.TPM; tpm > 0 && !a.Free && o.Tokens+t.Tokens > tpm {
		fits = false
		o.TokenRetry = stores.WindowSpan
		freed := int64(0)
		for i := 0; i < ks.toks.len(); i++ {
			freed += ks.toks.at(i).n
			if o.Tokens-freed+t.Tokens <= tpm {
				o.TokenRetry = msDur(ks.toks.at(i).at + spanMs - ms)
				break
			}
		}
	}
	var bss [4]*budgetState
	var used [4]int64
	bs := bss[:0]
	o.Used = used[:0]
	for _, tb := range t.Budgets {
		b := ks.budget(tb.Period, tb.End)
		b.sweep(ms)
		u := b.base + b.spend + b.reserved
		if !a.Free && t.Reserved > tb.Budget.Nano()-u {
			fits = false
		}
		bs = append(bs, b)
		o.Used = append(o.Used, u)
	}
	o.Admitted = fits
	d := stores.Decide(a, t, &o, now)
	if !fits {
		return nil, d
	}
	ks.reqs.push(ms)
	expires := ms + t.TTL.Milliseconds()
	if t.Tokens > 0 {
		ks.flights[t.ID] = flight{n: t.Tokens, expires: expires}
		ks.flightSum += t.Tokens
		if ks.flightMin == 0 || expires < ks.flightMin {
			ks.flightMin = expires
		}
	}
	if t.Reserved > 0 {
		for _, b := range bs {
			b.reserve(t.ID, t.Reserved, expires)
		}
	}
	return t, d
}

// Adjust moves the ticket's reservation to usd (see stores.Store).
func (e *Engine) Adjust(t *stores.Ticket, usd float64) stores.Decision {
	ks := e.lock(t.Key)
	defer ks.mu.Unlock()
	now := e.now()
	ms := now.UnixMilli()
	n := keys.ToNano(usd)
	expires := ms + t.TTL.Milliseconds()
	var used [4]int64
	u := used[:0]
	ok := true
	for _, tb := range t.Budgets {
		b := ks.budget(tb.Period, tb.End)
		b.sweep(ms)
		mine := b.res[t.ID].n
		others := b.base + b.spend + b.reserved - mine
		if n > mine && n > tb.Budget.Nano()-others {
			ok = false
		}
		u = append(u, others)
	}
	if ok {
		for _, tb := range t.Budgets {
			b := ks.budgets[tb.Period]
			b.release(t.ID)
			if n > 0 {
				b.reserve(t.ID, n, expires)
			}
		}
		if f, found := ks.flights[t.ID]; found {
			f.expires = expires
			ks.flights[t.ID] = f
		}
	}
	return stores.DecideAdjust(t, ok, n, u, now)
}

// Settle ends a ticket (see stores.Store); the caller has marked it
// settled.
func (e *Engine) Settle(t *stores.Ticket, tokens int64, usd float64) {
	ks := e.lock(t.Key)
	defer ks.mu.Unlock()
	ms := e.now().UnixMilli()
	if f, ok := ks.flights[t.ID]; ok {
		delete(ks.flights, t.ID)
		ks.flightSum -= f.n
	}
	if tokens > 0 {
		ks.toks.push(tokenEntry{at: ms, n: tokens})
		ks.tokSum += tokens
	}
	n := keys.ToNano(usd)
	for _, tb := range t.Budgets {
		b := ks.budget(tb.Period, tb.End)
		b.release(t.ID)
		b.spend += n
	}
	if n != 0 && len(t.Budgets) > 0 {
		e.changed.Store(true)
	}
}

// Status returns the key name's windows and budgets (see stores.Store).
func (e *Engine) Status(l keys.Limits) keys.Status {
	ks := e.lock(l.Name)
	defer ks.mu.Unlock()
	now := e.now()
	ms := now.UnixMilli()
	ks.sweep(ms)
	st := keys.EmptyStatus(l, now)
	st.Requests = int64(ks.reqs.len())
	st.Tokens = ks.tokSum + ks.flightSum
	for i, b := range l.Budgets {
		id, _ := b.Current(now)
		bs := ks.budgets[id]
		if bs == nil {
			continue
		}
		bs.sweep(ms)
		s := &st.Budgets[i]
		s.Spend, s.Reserved = keys.FromNano(bs.spend), keys.FromNano(bs.reserved)
		s.Remaining = keys.FromNano(b.Nano() - bs.spend - bs.reserved)
	}
	return st
}

func msDur(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
