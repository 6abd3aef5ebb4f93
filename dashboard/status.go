package dashboard

import (
	"cmp"
	"context"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/routing"
	"github.com/llmrouter/caddy-llm-router/stats"
)

// snapshot holds what one status answer is built from; pooled, as the
// page asks every second.
type snapshot struct {
	buf     []byte
	series  stats.Series
	targets []targetRow
}

var snapshots = sync.Pool{New: func() any { return new(snapshot) }}

// targetRow is one target name, merged over the states that share it.
type targetRow struct {
	name       string
	coolingN   int // states in cooldown
	until      time.Time
	latencySum time.Duration
	latencyN   int
	inFlight   int64
}

func (d *Dashboard) serveStatus(w http.ResponseWriter, r *http.Request) {
	s := snapshots.Get().(*snapshot)
	defer snapshots.Put(s)
	s.buf = d.appendStatus(r.Context(), s.buf[:0], s)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(s.buf)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(s.buf)
}

// appendStatus appends the status JSON (see the package doc) to b.
func (d *Dashboard) appendStatus(ctx context.Context, b []byte, s *snapshot) []byte {
	rec := d.rec
	if rec == nil {
		rec = stats.Default()
	}
	now := rec.Now()
	view := rec.View()

	b = append(b, `{"now":`...)
	b = appendTime(b, now)

	b = append(b, `,"targets":[`...)
	s.collectTargets(now)
	for i := range s.targets {
		t := &s.targets[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = llm.AppendString(b, t.name)
		b = append(b, `,"healthy":`...)
		b = strconv.AppendBool(b, t.coolingN == 0)
		b = append(b, `,"cooldown_until":`...)
		if t.coolingN > 0 {
			b = appendTime(b, t.until)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"latency_ms":`...)
		if t.latencyN > 0 {
			b = appendFloat(b, roundMicros(ms(t.latencySum/time.Duration(t.latencyN))))
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"in_flight":`...)
		b = strconv.AppendInt(b, t.inFlight, 10)
		b = appendWindow(b, view.Target(t.name))
		b = append(b, '}')
	}
	b = append(b, ']')

	// An empty list is left out as no reporter is: no keys configured.
	if keys, _ := stats.Keys(ctx); len(keys) > 0 {
		b = appendKeys(b, keys, view)
	}
	if disc, _ := stats.Discovery(); len(disc) > 0 {
		b = appendDiscovery(b, disc)
	}

	rec.Series(&s.series)
	b = appendSeries(b, &s.series)
	return append(b, '}')
}

// collectTargets fills s.targets from the shared target states, merged by
// name and sorted.
func (s *snapshot) collectTargets(now time.Time) {
	s.targets = s.targets[:0]
	routing.EachState(func(name string, st *routing.State) {
		i := slices.IndexFunc(s.targets, func(t targetRow) bool { return t.name == name })
		if i < 0 {
			s.targets = append(s.targets, targetRow{name: name})
			i = len(s.targets) - 1
		}
		t := &s.targets[i]
		if st.CoolingDown(now) {
			t.coolingN++
			if u := st.CooldownUntil(); u.After(t.until) {
				t.until = u
			}
		}
		if l := st.Latency(); l > 0 {
			t.latencySum += l
			t.latencyN++
		}
		t.inFlight += st.InFlight()
	})
	slices.SortFunc(s.targets, func(a, b targetRow) int { return cmp.Compare(a.name, b.name) })
}

// appendKeys appends the "keys" member; it sorts keys by name.
func appendKeys(b []byte, keys []stats.KeyStatus, view stats.View) []byte {
	slices.SortFunc(keys, func(a, b stats.KeyStatus) int { return cmp.Compare(a.Name, b.Name) })
	b = append(b, `,"keys":[`...)
	for i := range keys {
		k := &keys[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = llm.AppendString(b, k.Name)
		b = append(b, `,"rpm":`...)
		b = strconv.AppendInt(b, k.RPM, 10)
		b = append(b, `,"tpm":`...)
		b = strconv.AppendInt(b, k.TPM, 10)
		b = append(b, `,"requests_this_minute":`...)
		b = strconv.AppendInt(b, k.RequestsThisMinute, 10)
		b = append(b, `,"tokens_this_minute":`...)
		b = strconv.AppendInt(b, k.TokensThisMinute, 10)
		b = appendWindow(b, view.Key(k.Name))
		b = append(b, `,"budgets":[`...)
		for j := range k.Budgets {
			bs := &k.Budgets[j]
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"period":`...)
			b = llm.AppendString(b, bs.Period)
			b = append(b, `,"limit":`...)
			b = appendFloat(b, bs.Limit)
			b = append(b, `,"spend":`...)
			b = appendFloat(b, bs.Spend)
			b = append(b, `,"reserved":`...)
			b = appendFloat(b, bs.Reserved)
			b = append(b, `,"remaining":`...)
			b = appendFloat(b, bs.Remaining)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}

// appendDiscovery appends the "discovery" member, sorted by target.
func appendDiscovery(b []byte, disc []stats.DiscoveryStatus) []byte {
	slices.SortFunc(disc, func(a, b stats.DiscoveryStatus) int { return cmp.Compare(a.Target, b.Target) })
	b = append(b, `,"discovery":[`...)
	for i := range disc {
		ds := &disc[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"target":`...)
		b = llm.AppendString(b, ds.Target)
		b = append(b, `,"models":`...)
		b = strconv.AppendInt(b, int64(ds.Models), 10)
		b = append(b, `,"last_fetch":`...)
		if ds.LastFetch.IsZero() {
			b = append(b, "null"...)
		} else {
			b = appendTime(b, ds.LastFetch)
		}
		b = append(b, `,"last_error":`...)
		b = llm.AppendString(b, ds.LastError)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendSeries appends the "series" member.
func appendSeries(b []byte, s *stats.Series) []byte {
	b = append(b, `,"series":{"start":`...)
	b = strconv.AppendInt(b, s.Start, 10)
	b = append(b, `,"step":1`...)
	ints := func(b []byte, name string, f func(p *stats.Point) int64) []byte {
		b = append(b, `,"`...)
		b = append(b, name...)
		b = append(b, `":[`...)
		for i := range s.Points {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, f(&s.Points[i]), 10)
		}
		return append(b, ']')
	}
	floats := func(b []byte, name string, f func(p *stats.Point) float64) []byte {
		b = append(b, `,"`...)
		b = append(b, name...)
		b = append(b, `":[`...)
		for i := range s.Points {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFloat(b, f(&s.Points[i]))
		}
		return append(b, ']')
	}
	b = ints(b, "requests", func(p *stats.Point) int64 { return p.Requests })
	b = ints(b, "errors", func(p *stats.Point) int64 { return p.Errors })
	b = ints(b, "cache_hits", func(p *stats.Point) int64 { return p.CacheHits })
	b = ints(b, "prompt_tokens", func(p *stats.Point) int64 { return p.PromptTokens })
	b = ints(b, "completion_tokens", func(p *stats.Point) int64 { return p.CompletionTokens })
	b = floats(b, "cost_usd", func(p *stats.Point) float64 { return p.Cost })
	b = floats(b, "ttfb_ms", func(p *stats.Point) float64 { return roundMicros(mean(p.TTFB, p.TTFBCount)) })
	b = floats(b, "duration_ms", func(p *stats.Point) float64 { return roundMicros(mean(p.Duration, p.Requests)) })
	return append(b, '}')
}

func appendWindow(b []byte, w stats.Window) []byte {
	b = append(b, `,"requests_5m":`...)
	b = strconv.AppendInt(b, w.Requests, 10)
	b = append(b, `,"errors_5m":`...)
	return strconv.AppendInt(b, w.Errors, 10)
}

// appendTime appends t as a JSON string, RFC 3339 in UTC with
// milliseconds.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	return append(b, '"')
}

// appendFloat appends f rounded to 9 decimals (a billionth of a dollar;
// far below a microsecond in milliseconds), with integer arithmetic: the
// shortest exact float formatting is the costliest part of an answer with
// many keys. JSON has no NaN or infinity, so those become null.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	const scale = 1e9
	if math.Abs(f) >= math.MaxInt64/scale {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	n := int64(math.Round(f * scale))
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	b = strconv.AppendInt(b, n/scale, 10)
	frac := n % scale
	if frac == 0 {
		return b
	}
	digits := 9
	for frac%10 == 0 {
		frac /= 10
		digits--
	}
	b = append(b, '.')
	var tmp [9]byte
	for i := digits - 1; i >= 0; i-- {
		tmp[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(b, tmp[:digits]...)
}

// roundMicros rounds milliseconds to the microsecond.
func roundMicros(ms float64) float64 { return math.Round(ms*1000) / 1000 }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mean is sum / n in milliseconds, 0 when n is 0.
func mean(sum time.Duration, n int64) float64 {
	if n == 0 {
		return 0
	}
	return ms(sum) / float64(n)
}
