package redis

import (
	"context"
	_ "embed"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores"
	"github.com/llmrouter/caddy-llm-router/stores/internal/local"
)

// pool shares one client (and its fallback counters) among the configs that
// name the same URL and prefix, across reloads.
var pool = caddy.NewUsagePool()

var (
	//go:embed admit.lua
	admitLua string
	//go:embed adjust.lua
	adjustLua string
	//go:embed settle.lua
	settleLua string
	//go:embed status.lua
	statusLua string
	//go:embed spend.lua
	spendLua string

	admitScript  = goredis.NewScript(admitLua)
	adjustScript = goredis.NewScript(adjustLua)
	settleScript = goredis.NewScript(settleLua)
	statusScript = goredis.NewScript(statusLua)
	spendScript  = goredis.NewScript(spendLua)
)

// Timings of the fallback; variables for tests.
var (
	// downFor is how long Redis is left alone after a failure before a
	// request tries it again.
	downFor = time.Second
	// logEvery is the least time between two logs of failures.
	logEvery = 10 * time.Second
	// handOverEvery is how often spend counted while Redis was down is
	// handed over to it.
	handOverEvery = time.Second
)

// spanMs is the windows' span in milliseconds.
const spanMs = int64(stores.WindowSpan / time.Millisecond)

// periodGrace keeps a budget period's keys after its end, for
// settlements of requests admitted just before.
const periodGrace = 7 * 24 * time.Hour

// backend is one Redis client with its fallback counters and the goroutine
// that hands their spend over; pooled, so a reload never runs two.
type backend struct {
	client *goredis.Client
	prefix string
	now    func() time.Time
	logger *zap.Logger
	local  *local.Engine

	trips     atomic.Uint64
	downUntil atomic.Int64 // unix nanoseconds, real time
	lastLog   atomic.Int64
	degraded  atomic.Bool // logged as down, not yet as back

	names sync.Map // key name -> *names

	knownMu sync.Mutex
	known   map[string]map[string]int64 // key name -> period -> spend + reserved, as Redis last said

	stop, done chan struct{}
}

func newBackend(opt *goredis.Options, prefix string, logger *zap.Logger, now func() time.Time) *backend {
	if now == nil {
		now = time.Now
	}
	b := &backend{client: goredis.NewClient(opt), prefix: prefix, now: now, logger: logger,
		local: local.New(now), known: make(map[string]map[string]int64),
		stop: make(chan struct{}), done: make(chan struct{})}
	b.client.AddHook(tripCounter{&b.trips})
	go b.run()
	return b
}

// Destruct hands the fallback's spend over a last time and closes the
// client.
func (b *backend) Destruct() error {
	close(b.stop)
	<-b.done
	b.handOver()
	return b.client.Close()
}

func (b *backend) run() {
	defer close(b.done)
	tick := time.NewTicker(handOverEvery)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
			if !b.down() {
				b.handOver()
			}
			b.local.Prune()
		}
	}
}

// handOver adds the spend the fallback counted to Redis; what cannot be
// handed over is kept for the next time.
func (b *backend) handOver() {
	spends := b.local.DrainSpend()
	if len(spends) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	for i, s := range spends {
		nk := b.keysOf(s.Key)
		bk, _ := nk.period(s.Period)
		err := spendScript.Run(ctx, b.client, []string{bk}, strconv.FormatInt(s.Nano, 10), expireIn(s.End, b.now())).Err()
		if err != nil {
			b.fail(err, false)
			for _, rest := range spends[i:] {
				b.local.AddSpend(rest.Key, rest.Period, rest.End, rest.Nano)
			}
			return
		}
	}
}

// down reports whether Redis failed a moment ago.
func (b *backend) down() bool { return time.Now().UnixNano() < b.downUntil.Load() }

// fail opens the circuit for downFor and logs, at most every logEvery.
func (b *backend) fail(err error, closed bool) {
	now := time.Now()
	b.downUntil.Store(now.Add(downFor).UnixNano())
	last := b.lastLog.Load()
	if now.UnixNano()-last >= int64(logEvery) && b.lastLog.CompareAndSwap(last, now.UnixNano()) {
		b.degraded.Store(true)
		msg := "redis store unreachable: admitting requests with in-process counters until it is back (fail open)"
		if closed {
			msg = "redis store unreachable: refusing requests with 503 store_unavailable (fail closed)"
		}
		b.logger.Error(msg, zap.Error(err))
	}
}

// ok notes a successful round trip.
func (b *backend) ok() {
	if b.degraded.Load() && b.degraded.CompareAndSwap(true, false) {
		b.logger.Info("redis store reachable again")
	}
}

// remember keeps what Redis said of a key's budgets, for the fallback.
func (b *backend) remember(t *stores.Ticket, used []int64, admitted bool) {
	if len(t.Budgets) == 0 {
		return
	}
	b.knownMu.Lock()
	m := b.known[t.Key]
	if m == nil || len(m) > 2*len(t.Budgets) {
		m = make(map[string]int64, len(t.Budgets))
		b.known[t.Key] = m
	}
	for i, tb := range t.Budgets {
		u := used[i]
		if admitted {
			u += t.Reserved
		}
		m[tb.Period] = u
	}
	b.knownMu.Unlock()
}

// settledLocally takes a Redis ticket settled in the process out of what
// Redis last said: its reservation was counted there and is now spend
// counted in the fallback.
func (b *backend) settledLocally(t *stores.Ticket) {
	b.knownMu.Lock()
	defer b.knownMu.Unlock()
	m := b.known[t.Key]
	for _, tb := range t.Budgets {
		if u, ok := m[tb.Period]; ok {
			m[tb.Period] = max(u-t.Reserved, 0)
		}
	}
}

// seed gives the fallback Redis's last view of the key's budgets.
func (b *backend) seed(a *stores.Admission) {
	if len(a.Key.Budgets) == 0 {
		return
	}
	now := b.now()
	b.knownMu.Lock()
	m := b.known[a.Key.Name]
	b.knownMu.Unlock()
	for _, bg := range a.Key.Budgets {
		id, end := bg.Current(now)
		b.knownMu.Lock()
		u, ok := m[id]
		b.knownMu.Unlock()
		if ok {
			b.local.SetBase(a.Key.Name, id, end, u)
		}
	}
}

func (b *backend) admit(ctx context.Context, a *stores.Admission, t *stores.Ticket, now time.Time) ([]int64, error) {
	nk := b.keysOf(t.Key)
	ms := now.UnixMilli()
	nb := len(t.Budgets)
	ks := make([]string, 4, 4+2*nb)
	ks[0], ks[1], ks[2], ks[3] = nk.q, nk.t, nk.f, nk.c
	args := make([]any, 9, 9+2*nb)
	args[0] = strconv.FormatInt(ms, 10)
	args[1] = strconv.FormatInt(ms-spanMs, 10)
	args[2] = t.ID
	args[3] = strconv.FormatInt(a.Key.RPM, 10)
	tpm := a.Key.TPM
	if a.Free {
		tpm = 0 // the script refuses for tpm only when it is set
	}
	args[4] = strconv.FormatInt(tpm, 10)
	args[5] = strconv.FormatInt(t.Tokens, 10)
	args[6] = strconv.FormatInt(ms+t.TTL.Milliseconds(), 10)
	args[7] = strconv.FormatInt(t.Reserved, 10)
	args[8] = strconv.FormatInt(t.TTL.Milliseconds()+spanMs+1000, 10)
	for _, tb := range t.Budgets {
		bk, xk := nk.period(tb.Period)
		ks = append(ks, bk, xk)
		limit := tb.Budget.Nano()
		if a.Free {
			limit = math.MaxInt64 // no budget refuses what costs nothing
		}
		args = append(args, strconv.FormatInt(limit, 10), expireIn(tb.End, now))
	}
	res, err := admitScript.Run(ctx, b.client, ks, args...).Int64Slice()
	if err == nil {
		b.ok()
	}
	return res, err
}

func (b *backend) adjust(ctx context.Context, t *stores.Ticket, n int64, now time.Time) ([]int64, error) {
	nk := b.keysOf(t.Key)
	ms := now.UnixMilli()
	ks := make([]string, 1, 1+2*len(t.Budgets))
	ks[0] = nk.f
	args := []any{strconv.FormatInt(ms, 10), t.ID, strconv.FormatInt(ms+t.TTL.Milliseconds(), 10), strconv.FormatInt(n, 10)}
	for _, tb := range t.Budgets {
		bk, xk := nk.period(tb.Period)
		ks = append(ks, bk, xk)
		args = append(args, strconv.FormatInt(tb.Budget.Nano(), 10), expireIn(tb.End, now))
	}
	res, err := adjustScript.Run(ctx, b.client, ks, args...).Int64Slice()
	if err == nil {
		b.ok()
	}
	return res, err
}

func (b *backend) settle(ctx context.Context, t *stores.Ticket, tokens int64, usd float64) error {
	nk := b.keysOf(t.Key)
	now := b.now()
	tokens = max(tokens, 0)
	ks := make([]string, 3, 3+2*len(t.Budgets))
	ks[0], ks[1], ks[2] = nk.t, nk.f, nk.c
	args := make([]any, 6, 6+len(t.Budgets))
	args[0] = strconv.FormatInt(now.UnixMilli(), 10)
	args[1] = t.ID
	args[2] = t.ID + ":" + strconv.FormatInt(tokens, 10)
	args[3] = strconv.FormatInt(tokens, 10)
	args[4] = strconv.FormatInt(keys.ToNano(usd), 10)
	args[5] = strconv.FormatInt(spanMs+1000, 10)
	for _, tb := range t.Budgets {
		bk, xk := nk.period(tb.Period)
		ks = append(ks, bk, xk)
		args = append(args, expireIn(tb.End, now))
	}
	err := settleScript.Run(ctx, b.client, ks, args...).Err()
	if err == nil {
		b.ok()
	}
	return err
}

func (b *backend) status(ctx context.Context, l keys.Limits) (keys.Status, error) {
	nk := b.keysOf(l.Name)
	now := b.now()
	ms := now.UnixMilli()
	ks := []string{nk.q, nk.t, nk.f, nk.c}
	for _, bg := range l.Budgets {
		id, _ := bg.Current(now)
		bk, xk := nk.period(id)
		ks = append(ks, bk, xk)
	}
	res, err := statusScript.Run(ctx, b.client, ks, strconv.FormatInt(ms, 10),
		strconv.FormatInt(ms-spanMs, 10)).Int64Slice()
	if err != nil {
		return keys.Status{}, err
	}
	b.ok()
	st := keys.EmptyStatus(l, now)
	st.Requests, st.Tokens = res[0], res[1]
	for i, bg := range l.Budgets {
		s := &st.Budgets[i]
		spend, reserved := res[2+2*i], res[3+2*i]
		s.Spend, s.Reserved = keys.FromNano(spend), keys.FromNano(reserved)
		s.Remaining = keys.FromNano(bg.Nano() - spend - reserved)
	}
	return st, nil
}

// names are the Redis keys of one key name. All share the hash tag of the
// name, so that a script's keys live on one node of a cluster.
type names struct {
	base       string
	q, t, f, c string

	mu      sync.Mutex
	periods map[string][2]string
}

func (b *backend) keysOf(name string) *names {
	if v, ok := b.names.Load(name); ok {
		return v.(*names)
	}
	base := b.prefix + "{" + name + "}:"
	v, _ := b.names.LoadOrStore(name, &names{base: base, q: base + "q", t: base + "t", f: base + "f", c: base + "c",
		periods: make(map[string][2]string)})
	return v.(*names)
}

// period returns the keys of a budget period: its hash and its
// reservations.
func (n *names) period(id string) (string, string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.periods[id]
	if !ok {
		if len(n.periods) >= 16 {
			clear(n.periods)
		}
		p = [2]string{n.base + "b:" + id, n.base + "x:" + id}
		n.periods[id] = p
	}
	return p[0], p[1]
}

// expireIn is how long a period's keys are kept, in ms, relative so that
// the clocks of Redis and of the router need not agree; "0" for never.
func expireIn(end, now time.Time) string {
	if end.IsZero() {
		return "0"
	}
	return strconv.FormatInt(max(end.Add(periodGrace).Sub(now).Milliseconds(), 1), 10)
}

// tripCounter counts round trips to Redis.
type tripCounter struct{ n *atomic.Uint64 }

func (c tripCounter) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (c tripCounter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c tripCounter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}
