package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// row is one figure of the table.
type row struct {
	label  string
	format string // for one value
	// vals are the per-round values of variant key (nil: not measured).
	vals func(key string) []float64
	// how the ratio column is filled: "ratio" (median over rounds of
	// v/a in the same round), "diff" (median of v−a), "" (none).
	cmp  string
	text func(key string) string
}

func (r *results) samples(ph, key string) []sample { return r.runs[ph][key] }

func (r *results) per(ph string, f func(sample) float64) func(string) []float64 {
	return func(key string) []float64 {
		ss := r.samples(ph, key)
		if len(ss) == 0 {
			return nil
		}
		out := make([]float64, len(ss))
		for i, s := range ss {
			out[i] = f(s)
		}
		return out
	}
}

func cpuPer(s sample) float64 {
	return float64(s.caddyCPU.Nanoseconds()) / 1e3 / float64(max(s.res.requests, 1))
}
func busy(s sample) float64                   { return 100 * s.caddyCPU.Seconds() / s.res.wall.Seconds() }
func pctOf(d time.Duration, s sample) float64 { return 100 * d.Seconds() / s.res.wall.Seconds() }
func foreign(s sample) float64                { return pctOf(s.foreignCaddy, s) }

// goBenchName is each variant's full-path Go benchmark in ./bench (its
// streamed twin has the suffix Stream).
var goBenchName = map[string]string{
	"a": "BenchmarkReverseProxy", "b": "BenchmarkPassthrough", "c": "BenchmarkAnthropic", "d": "BenchmarkMock",
	"m": "BenchmarkReverseProxyMessages", "e": "BenchmarkMessagesPassthrough", "f": "BenchmarkMessagesTranslation",
	"n": "BenchmarkReverseProxyResponses", "g": "BenchmarkResponsesPassthrough", "h": "BenchmarkResponsesTranslation",
	"i": "BenchmarkKeysMemory", "j": "BenchmarkKeysRedis", "k": "BenchmarkTracing", "l": "BenchmarkCacheHit",
}

// goBenchResult is the result of ./bench's benchmark name.
func (r *results) goBenchResult(name string) (goBench, bool) {
	for _, gb := range r.goBench {
		if gb.Pkg != "./bench" {
			continue
		}
		for _, res := range gb.Results {
			if res.Name == name && res.hasAllocs {
				return res, true
			}
		}
	}
	return goBench{}, false
}

func (r *results) goBenchVal(suffix string, allocs bool) func(string) []float64 {
	return func(key string) []float64 {
		res, ok := r.goBenchResult(goBenchName[key] + suffix)
		if !ok {
			return nil
		}
		if allocs {
			return []float64{res.AllocsOp}
		}
		return []float64{res.BytesOp}
	}
}

// A section is one table of a group: its title and rows.
type section struct {
	title string
	rows  []row
}

func (r *results) sections() []section {
	cfg := r.cfg
	js := func(f func(sample) float64) func(string) []float64 { return r.per("json", f) }
	tt := func(f func(sample) float64) func(string) []float64 { return r.per("ttfc", f) }
	rl := func(f func(sample) float64) func(string) []float64 { return r.per("relay", f) }
	countText := func(phs []string, num func(sample) int, den func(sample) int) func(string) string {
		return func(key string) string {
			n, d := 0, 0
			for _, ph := range phs {
				for _, s := range r.samples(ph, key) {
					n += num(s)
					d += den(s)
				}
			}
			if d == 0 {
				return ""
			}
			return fmt.Sprintf("%d / %d", n, d)
		}
	}
	idle := func(f func(memSample) float64) func(string) []float64 {
		return func(key string) []float64 {
			var out []float64
			for _, m := range r.idle[key] {
				if m.opened > 0 {
					out = append(out, f(m))
				}
			}
			return out
		}
	}
	return []section{
		{fmt.Sprintf("Non-streamed: %d connections, closed loop, %s per run", cfg.conc, cfg.jsonDur), []row{
			{label: "**Caddy CPU µs / request**", format: "**%.1f**", vals: js(cpuPer), cmp: "ratio"},
			{label: "requests/s", format: "%.0f", vals: js(func(s sample) float64 { return float64(s.res.requests) / s.res.wall.Seconds() }), cmp: "ratio"},
			{label: "latency p50 (ms)", format: "%.2f", vals: js(func(s sample) float64 { return ms(pct(s.res.lat, 50)) }), cmp: "ratio"},
			{label: "latency p99 (ms)", format: "%.2f", vals: js(func(s sample) float64 { return ms(pct(s.res.lat, 99)) }), cmp: "ratio"},
			{label: "allocs / request (Go benchmark)", format: "%.0f", vals: r.goBenchVal("", true), cmp: "ratio"},
			{label: "bytes / request (Go benchmark)", format: "%.0f", vals: r.goBenchVal("", false), cmp: "ratio"},
			{label: "Caddy CPU busy (%)", format: "%.0f", vals: js(busy)},
			{label: "load generator + fake upstreams (+ Redis) busy (%)", format: "%.0f", vals: js(func(s sample) float64 { return pctOf(s.loadCPU, s) })},
			{label: "other processes on Caddy's CPU (%)", format: "%.0f", vals: js(foreign)},
			{label: "upstream connections opened per run", format: "%.0f", vals: js(func(s sample) float64 { return float64(s.upConns) })},
			{label: "errors / requests", text: countText([]string{"json"}, func(s sample) int { return s.res.errors }, func(s sample) int { return s.res.requests + s.res.errors })},
		}},
		{fmt.Sprintf("Streamed: %d content chunks per stream; TTFC with %s between upstream chunks, %d concurrent streams; relay at zero delay, %d streams per run, %d concurrent", cfg.chunks, cfg.ttfcDelay, cfg.streamConc, cfg.relayCount, cfg.streamConc), []row{
			{label: "**Caddy CPU µs / stream** (relay)", format: "**%.1f**", vals: rl(cpuPer), cmp: "ratio"},
			{label: "relay events/s", format: "%.0f", vals: rl(func(s sample) float64 { return float64(s.res.chunks) / s.res.wall.Seconds() }), cmp: "ratio"},
			{label: "relay events per Caddy CPU-second", format: "%.0f", vals: rl(func(s sample) float64 { return float64(s.res.chunks) / s.caddyCPU.Seconds() }), cmp: "ratio"},
			{label: "events / stream received", format: "%.1f", vals: rl(func(s sample) float64 { return float64(s.res.chunks) / float64(max(s.res.streams, 1)) })},
			{label: "time to first event p50 (ms)", format: "%.2f", vals: tt(func(s sample) float64 { return ms(pct(s.res.lat, 50)) }), cmp: "diff"},
			{label: "time to first event p99 (ms)", format: "%.2f", vals: tt(func(s sample) float64 { return ms(pct(s.res.lat, 99)) }), cmp: "diff"},
			{label: "allocs / stream (Go benchmark)", format: "%.0f", vals: r.goBenchVal("Stream", true), cmp: "ratio"},
			{label: "bytes / stream (Go benchmark)", format: "%.0f", vals: r.goBenchVal("Stream", false), cmp: "ratio"},
			{label: "Caddy CPU busy in relay (%)", format: "%.0f", vals: rl(busy)},
			{label: "load generator + fake upstreams (+ Redis) busy in relay (%)", format: "%.0f", vals: rl(func(s sample) float64 { return pctOf(s.loadCPU, s) })},
			{label: "other processes on Caddy's CPU in relay (%)", format: "%.0f", vals: rl(foreign)},
			{label: "upstream connections opened per relay run", format: "%.0f", vals: rl(func(s sample) float64 { return float64(s.upConns) })},
			{label: "incomplete streams (no end event)", text: countText([]string{"ttfc", "relay"}, func(s sample) int { return s.res.incomplete }, func(s sample) int { return s.res.streams })},
		}},
		{fmt.Sprintf("Memory: a fresh Caddy per variant and round; %d concurrent idle streams (headers and one event, then held)", cfg.idle), []row{
			{label: "**memory per open stream (KiB)**", format: "**%.1f**", vals: idle(func(m memSample) float64 { return float64(m.open-m.base) / 1024 / float64(m.opened) }), cmp: "ratio"},
			{label: fmt.Sprintf("RSS with %d idle streams (MiB)", cfg.idle), format: "%.1f", vals: idle(func(m memSample) float64 { return mib(m.open) }), cmp: "ratio"},
			{label: "idle streams opened / asked", text: func(key string) string {
				n, d := 0, 0
				for _, m := range r.idle[key] {
					n += m.opened
					d += m.opened + m.failed
				}
				if d == 0 {
					return ""
				}
				return fmt.Sprintf("%d / %d", n, d)
			}},
			{label: "peak RSS under load (VmHWM, MiB)", format: "%.1f", vals: func(key string) []float64 {
				var out []float64
				for _, b := range r.peak[key] {
					out = append(out, mib(b))
				}
				return out
			}, cmp: "ratio"},
		}},
	}
}

// findRow is the row whose label contains label.
func (r *results) findRow(label string) row {
	for _, sec := range r.sections() {
		for _, rw := range sec.rows {
			if strings.Contains(rw.label, label) {
				return rw
			}
		}
	}
	panic("no row " + label)
}

// cmpVal is the ratio or difference of variant key to variant base, paired
// by round.
func cmpVal(rw row, key, base string) (float64, bool) {
	xs := pairs(rw, key, base)
	if len(xs) == 0 {
		return 0, false
	}
	return median(xs), true
}

// pairs are the per-round ratios (or differences) of key to base.
func pairs(rw row, key, base string) []float64 {
	a, v := rw.vals(base), rw.vals(key)
	n := min(len(a), len(v))
	var xs []float64
	for i := 0; i < n; i++ {
		switch rw.cmp {
		case "ratio":
			if a[i] != 0 {
				xs = append(xs, v[i]/a[i])
			}
		case "diff":
			xs = append(xs, v[i]-a[i])
		}
	}
	return xs
}

func (r *results) cell(rw row, v *variant) string {
	if v.Missing != "" {
		return "n/a¹"
	}
	if rw.text != nil {
		if s := rw.text(v.Key); s != "" {
			return s
		}
		return "—"
	}
	xs := rw.vals(v.Key)
	if len(xs) == 0 {
		if strings.Contains(rw.label, "Go benchmark") && len(r.goBench) == 0 {
			return "not run"
		}
		return "—"
	}
	return fmt.Sprintf(rw.format, median(xs))
}

func (r *results) cmpCell(rw row, v *variant, base string) string {
	if rw.cmp == "" || v.Missing != "" {
		return ""
	}
	x, ok := cmpVal(rw, v.Key, base)
	if !ok {
		return "—"
	}
	return fmtCmp(rw.cmp, x)
}

func fmtCmp(cmp string, x float64) string {
	if cmp == "diff" {
		return fmt.Sprintf("%+.2f ms", x)
	}
	return fmt.Sprintf("%.2f×", x)
}

// group is a detail table: variants against the first one.
type group struct {
	title string
	keys  []string
	// memory: the group's variants have memory figures.
	memory bool
}

var groups = []group{
	{"Chat Completions (issue 5)", []string{"a", "b", "c", "d"}, true},
	{"Anthropic Messages (issue 9)", []string{"m", "e", "f"}, false},
	{"OpenAI Responses (issue 9)", []string{"n", "g", "h"}, false},
	{"Router keys and tracing (issues 10, 11)", []string{"a", "b", "i", "j", "k"}, false},
	{"Response cache (issue 12)", []string{"a", "b", "l"}, false},
}

// writeGroup writes a group's tables; variants not selected are left out.
func (r *results) writeGroup(w func(string, ...any), g group) {
	var vs []*variant
	for _, k := range g.keys {
		if v := variantByKey(r.vs, k); v != nil && v.Missing != "not selected (-variants)" {
			vs = append(vs, v)
		}
	}
	if len(vs) < 2 {
		return
	}
	base := vs[0].Key
	var head, sep strings.Builder
	head.WriteString("| figure |")
	sep.WriteString("|---|")
	for _, v := range vs {
		fmt.Fprintf(&head, " (%s) %s |", v.Key, v.Title)
		sep.WriteString("---:|")
		if v.Key != base {
			fmt.Fprintf(&head, " (%s)/(%s) |", v.Key, base)
			sep.WriteString("---:|")
		}
	}
	w("### %s\n\n", g.title)
	for _, sec := range r.sections() {
		if strings.HasPrefix(sec.title, "Memory") && !g.memory {
			continue
		}
		w("%s\n\n%s\n%s\n", sec.title, head.String(), sep.String())
		for _, rw := range sec.rows {
			w("| %s |", rw.label)
			for _, v := range vs {
				w(" %s |", r.cell(rw, v))
				if v.Key != base {
					w(" %s |", r.cmpCell(rw, v, base))
				}
			}
			w("\n")
		}
		w("\n")
	}
}

// writeSummary writes one line per variant: the headline figures against
// reverse_proxy with the same inbound API.
func (r *results) writeSummary(w func(string, ...any)) {
	cpuJ, cpuS, ttfc := r.findRow("CPU µs / request"), r.findRow("CPU µs / stream"), r.findRow("first event p50")
	aJ, aS := r.findRow("allocs / request"), r.findRow("allocs / stream")
	w("| variant | API | against | CPU µs / request | × | CPU µs / stream | × | TTFC p50 added | allocs / request | allocs / stream |\n")
	w("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, v := range r.vs {
		if v.Missing == "not selected (-variants)" {
			continue
		}
		against := "—"
		if v.Base != "" {
			against = "(" + v.Base + ")"
		}
		cm := func(rw row) string {
			if v.Base == "" {
				return ""
			}
			return r.cmpCell(rw, v, v.Base)
		}
		plain := func(rw row) string { return strings.Trim(r.cell(rw, v), "*") }
		w("| (%s) %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v.Key, v.Title, apiTitle[v.API], against,
			plain(cpuJ), cm(cpuJ), plain(cpuS), cm(cpuS), cm(ttfc), plain(aJ), plain(aS))
	}
	w("\n")
}

var apiTitle = map[string]string{apiChat: "Chat Completions", apiMessages: "Messages", apiResponses: "Responses"}

func (r *results) markdown() string {
	cfg, env := r.cfg, r.env
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	cmdline := "go run ./bench"
	if len(cfg.args) > 0 {
		cmdline += " " + strings.Join(cfg.args, " ")
	}
	w("# llm_router vs reverse_proxy: load benchmark results\n\n")
	if cfg.quick || cfg.rounds < 5 {
		w("> **Smoke run** (%d round%s, short runs): the harness works, the figures are not a verdict. Use the full run (`go run ./bench`) for the targets.\n\n", cfg.rounds, plural(cfg.rounds))
	}
	w("- Date: %s (took %s)\n", r.started.Format("2006-01-02 15:04 MST"), r.took.Round(time.Second))
	w("- Command: `%s` (from the module root)\n", cmdline)
	w("- Machine: %d CPUs (nproc), %s, Linux %s; load average (1 min) during the run: %s\n", env.nproc, env.cpuModel, env.kernel, r.loadText())
	w("- Go: %s; Caddy: %s; commit: %s", env.goVersion, firstLine(env.caddyVer), orUnknown(env.commit))
	if env.redisVer != "" {
		w("; %s", env.redisVer)
	}
	w("\n")
	if tasksetPath != "" {
		w("- Pinning (taskset): load generator, fake upstreams and redis-server on CPU %d, Caddy on CPU %d\n", env.loadCPU, env.caddyCPU)
	} else {
		w("- Pinning: **none** (taskset missing or one CPU)\n")
	}
	w("- %d interleaved round%s (every variant in turn, then again); each cell is the median over rounds; the ×/ms columns are the median over rounds of the variant against its baseline in the same round\n", cfg.rounds, plural(cfg.rounds))
	w("- One Caddy process with every site for the throughput and latency runs; access logs off\n")
	w("- Baselines: (a), (m), (n) are reverse_proxy with the Chat Completions, Messages and Responses request; each router variant is compared with the one of its inbound API. The variants are described in bench/README.md\n\n")

	w("## Summary\n\n")
	r.writeSummary(w)
	var missing []string
	for _, v := range r.vs {
		if v.Missing != "" && v.Missing != "not selected (-variants)" {
			missing = append(missing, fmt.Sprintf("(%s) %s: %s", v.Key, v.Name, v.Missing))
		}
	}
	if len(missing) > 0 {
		w("¹ not measured — %s\n\n", strings.Join(missing, "; "))
	}
	r.writeTargets(w)
	r.writeKeysAndTracing(w)
	r.writeBodySizes(w)

	w("## Details\n\n")
	for _, g := range groups {
		r.writeGroup(w, g)
	}
	if len(missing) > 0 {
		w("¹ not measured — %s\n\n", strings.Join(missing, "; "))
	}

	notes := append([]string(nil), env.notes...)
	notes = append(notes, r.autoNotes()...)
	if len(notes) > 0 {
		w("## Notes\n\n")
		for _, n := range notes {
			w("- %s\n", n)
		}
		w("\n")
	}

	w("## Go benchmarks\n\nThe allocation figures above come from `./bench` (paths_test.go: each variant's handler provisioned from the same Caddyfile lines and served in-process against the same fake upstreams, run in a child process so that only the handler's allocations count; %d-chunk streams). All Go benchmarks run, as they are (the root package's use an in-process upstream, whose allocations are counted too):\n\n", goBenchChunks)
	w("| package | benchmark | ns/op | B/op | allocs/op | other |\n|---|---|---:|---:|---:|---|\n")
	for _, gb := range r.goBench {
		for _, res := range gb.Results {
			var other []string
			for _, unit := range sortedKeys(res.Metrics) {
				format := "%.2f %s"
				if res.Metrics[unit] >= 100 {
					format = "%.0f %s"
				}
				other = append(other, fmt.Sprintf(format, res.Metrics[unit], unit))
			}
			w("| `%s` | %s | %.0f | %.0f | %.0f | %s |\n", gb.Pkg, res.Name, res.NsOp, res.BytesOp, res.AllocsOp, strings.Join(other, ", "))
		}
	}
	w("\n")
	for _, gb := range r.goBench {
		status := "ok"
		if gb.Err != "" {
			status = "failed: " + gb.Err
		}
		w("- `%s` — %s\n", gb.Command, status)
	}
	if len(r.goBench) == 0 {
		w("- not run (-gobench=false)\n")
	}
	w("\n")

	if len(r.profiles) > 0 {
		w("## Profiles\n\nFetched from Caddy's admin endpoint (`/debug/pprof/`) during extra, unmeasured loads of %s each. Open one with `go tool pprof -http=: bench/bin/caddy <file>`.\n\n", cfg.profileDur)
		sort.Slice(r.profiles, func(i, j int) bool { return r.profiles[i].file < r.profiles[j].file })
		for _, p := range r.profiles {
			rel := strings.TrimPrefix(p.file, env.root+"/")
			w("### %s — `%s`\n\n```\n%s\n```\n\n", p.title, rel, p.top)
		}
	}
	w("See bench/README.md for what each figure means and how it is measured.\n")
	return b.String()
}

func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// loadText sums up the load-average samples.
func (r *results) loadText() string {
	if len(r.load) == 0 {
		return "unknown"
	}
	lo, hi := r.load[0], r.load[0]
	for _, x := range r.load {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return fmt.Sprintf("%.2f at the start, median %.2f, range %.2f–%.2f over %d samples (start, after the Go benchmarks and every round)", r.load[0], median(r.load), lo, hi, len(r.load))
}

// autoNotes are warnings drawn from the samples.
func (r *results) autoNotes() []string {
	var out, notBusy, noisy []string
	for _, v := range r.vs {
		if v.Missing != "" {
			continue
		}
		var errs int
		var why string
		for _, ph := range []string{"json", "ttfc", "relay"} {
			for _, s := range r.samples(ph, v.Key) {
				errs += s.res.errors + s.res.incomplete
				if why == "" {
					why = s.res.firstErr
				}
			}
		}
		if errs > 0 {
			out = append(out, fmt.Sprintf("(%s) %s: %d failed requests or incomplete streams; first: %s", v.Key, v.Name, errs, why))
		}
		for _, ph := range []string{"json", "ttfc", "relay"} {
			ss := r.samples(ph, v.Key)
			if len(ss) == 0 {
				continue
			}
			var bs, ls, fs, fl, st []float64
			for _, s := range ss {
				bs = append(bs, busy(s))
				ls = append(ls, pctOf(s.loadCPU, s))
				fs = append(fs, foreign(s))
				fl = append(fl, pctOf(s.foreignLoad, s))
				st = append(st, pctOf(s.steal, s))
			}
			if b := median(bs); ph != "ttfc" && b < 85 {
				notBusy = append(notBusy, fmt.Sprintf("(%s) %s %.0f%% (load side %.0f%%)", v.Key, ph, b, median(ls)))
			}
			if f, l, t := median(fs), median(fl), median(st); f > 5 || l > 5 || t > 2 {
				n := fmt.Sprintf("(%s) %s: %.0f%% of Caddy's CPU, %.0f%% of the load CPU", v.Key, ph, f, l)
				if t > 2 {
					n += fmt.Sprintf(", steal %.0f%%", t)
				}
				noisy = append(noisy, n)
			}
		}
		if up := r.samples("json", v.Key); len(up) > 0 && v.Name != "mock" {
			var cs []float64
			for _, s := range up {
				cs = append(cs, float64(s.upConns))
			}
			if c := median(cs); c > float64(r.cfg.conc)*1.5 {
				out = append(out, fmt.Sprintf("(%s) %s opened %.0f upstream connections per non-streamed run for %d client connections: upstream connection churn inflates its CPU per request", v.Key, v.Name, c, r.cfg.conc))
			}
		}
		for _, m := range r.idle[v.Key] {
			if m.failed > 0 {
				out = append(out, fmt.Sprintf("(%s) %s: %d idle streams failed to open: %s", v.Key, v.Name, m.failed, m.why))
				break
			}
		}
	}
	// Single disturbed runs, which the medians above may hide.
	disturbed, runs := map[string]int{}, 0
	for _, ph := range []string{"json", "ttfc", "relay"} {
		for _, v := range r.vs {
			for _, s := range r.samples(ph, v.Key) {
				runs++
				if foreign(s) > 10 {
					disturbed[ph]++
				}
			}
		}
	}
	if n := disturbed["json"] + disturbed["ttfc"] + disturbed["relay"]; n > 0 {
		out = append(out, fmt.Sprintf("%d of %d measured runs had other processes take more than 10%% of Caddy's CPU (non-streamed %d, TTFC %d, relay %d): the ratios of those rounds are the outliers of the ranges in the targets; the medians over rounds are meant to outlast them.",
			n, runs, disturbed["json"], disturbed["ttfc"], disturbed["relay"]))
	}
	if len(noisy) > 0 {
		out = append(out, "The machine was not quiet: other processes ran on the pinned CPUs (median per run) in "+strings.Join(noisy, "; ")+". Wall-clock figures of those runs are disturbed, and CPU µs per request drops when Caddy is short of CPU (more chunks per read and write), so ratios between runs with different figures here are unreliable.")
	}
	if len(notBusy) > 0 {
		out = append(out, "Caddy was not saturated (Caddy busy %) in "+strings.Join(notBusy, "; ")+": there requests/s and chunks/s are limited by the load side, other processes or latency, not by Caddy.")
	}
	if len(r.load) > 0 {
		verdict := "about what the bench alone keeps runnable (2 to 2.5): the machine was otherwise quiet"
		if _, hi := minMax(r.load); hi > 3 {
			verdict = "above what the bench alone keeps runnable (2 to 2.5): other work ran during the run"
		}
		out = append(out, fmt.Sprintf("Load average (1 min) during the run: %s; %s.", r.loadText(), verdict))
	}
	out = append(out, fmt.Sprintf("CPU time comes from /proc/<pid>/stat in %.0f Hz ticks: each run's Caddy CPU time is known to ±%.0f ms.", clockTick, 1000/clockTick))
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	if s == "" {
		return "unknown"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
