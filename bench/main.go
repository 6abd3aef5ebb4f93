// Command bench is the side-by-side load benchmark of llm_router against
// Caddy's own reverse_proxy (issues 5, 9, 10, 11, 12). Run it from the
// module root:
//
//	go run ./bench          # full run, ~18 minutes on 2 cores
//	go run ./bench -quick   # smoke run, a few minutes
//
// It builds the project's Caddy into bench/bin/caddy, starts fake upstreams
// (this same program with -role upstream) and, for the Redis-keyed
// variant, a redis-server, runs one Caddy with a site per router setup
// (reverse_proxy; llm_router with an openai, an anthropic or mock targets;
// with router keys on store memory and store redis; behind tracing; with
// the response cache), drives each variant (a site and the request of one
// inbound API: Chat Completions, Anthropic Messages, OpenAI Responses)
// with its own closed-loop HTTP/1.1 load generator and writes
// bench/RESULTS.md. See bench/README.md for the variants, the flags and
// what each figure means.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	quick      bool
	rounds     int
	conc       int
	jsonDur    time.Duration
	streamConc int
	chunks     int
	ttfcDelay  time.Duration
	ttfcDur    time.Duration
	relayCount int
	idle       int
	warmup     time.Duration
	peakDur    time.Duration
	variants   string
	memVars    string
	out        string
	goBench    bool
	benchtime  string
	cpuProfile string
	memProfile string
	profileDur time.Duration
	loadCPU    int
	caddyCPU   int
	rpIdle     int
	noBuild    bool
	args       []string
}

func parseFlags(args []string) *config {
	c := &config{args: args}
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./bench [flags]   (from the module root; see bench/README.md)")
		fs.PrintDefaults()
	}
	fs.BoolVar(&c.quick, "quick", false, "smoke run (a few minutes): 1 round, short runs, 1,000 idle streams; overrides the sizes below unless they are set explicitly")
	fs.IntVar(&c.rounds, "rounds", 5, "interleaved rounds (a b c d a b c d …); medians are taken over them")
	fs.IntVar(&c.conc, "c", 32, "concurrency (connections) of the non-streamed load")
	fs.DurationVar(&c.jsonDur, "d", 5*time.Second, "duration of one non-streamed run")
	fs.IntVar(&c.streamConc, "streams", 100, "concurrent streams in the time-to-first-chunk and relay runs")
	fs.IntVar(&c.chunks, "chunks", 50, "content chunks per stream")
	fs.DurationVar(&c.ttfcDelay, "chunk-delay", 20*time.Millisecond, "delay between upstream chunks in the time-to-first-chunk runs")
	fs.DurationVar(&c.ttfcDur, "ttfc-d", 3*time.Second, "duration of one time-to-first-chunk run (after the staggered start)")
	fs.IntVar(&c.relayCount, "relay-streams", 6000, "streams per relay run (zero delay between chunks)")
	fs.IntVar(&c.idle, "idle", 10000, "concurrent idle streams for the memory-per-stream figure")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "warm-up per variant and kind, at full concurrency, before the rounds")
	fs.DurationVar(&c.peakDur, "peak-d", 1500*time.Millisecond, "duration of each load of the peak-RSS runs (fresh Caddy per variant)")
	fs.StringVar(&c.variants, "variants", "abcdefghijkl", "variants to run (letters; see bench/README.md): a reverse_proxy, b passthrough, c translation, d mock, e Messages→anthropic, f Messages→openai, g Responses→openai, h Responses→anthropic, i keys on store memory, j keys on store redis, k tracing, l cache hit, m/n reverse_proxy with Messages/Responses requests; a, and the variants the selected ones compare with, always run")
	fs.StringVar(&c.memVars, "mem", "abcd", "variants whose memory (per open stream, peak RSS) is measured, each with fresh Caddys")
	fs.StringVar(&c.out, "o", "bench/RESULTS.md", "where to write the Markdown results (relative to the module root)")
	fs.BoolVar(&c.goBench, "gobench", true, "run the Go benchmarks (go test -bench -benchmem) for allocations per request")
	fs.StringVar(&c.benchtime, "benchtime", "2000x", "-benchtime of the Go benchmarks")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "variant (its letter or name) whose Caddy CPU profile to fetch from the admin /debug/pprof/ endpoint under load; saved in bench/profiles/")
	fs.StringVar(&c.memProfile, "memprofile", "", "variant whose Caddy allocation profile (delta over the load) and heap profile to fetch; saved in bench/profiles/")
	fs.DurationVar(&c.profileDur, "profile-d", 10*time.Second, "length of each profiled load (one non-streamed, one streamed)")
	fs.IntVar(&c.loadCPU, "load-cpu", 0, "CPU for the load generator and the fake upstreams")
	fs.IntVar(&c.caddyCPU, "caddy-cpu", 1, "CPU for Caddy")
	fs.IntVar(&c.rpIdle, "rp-idle-conns", 0, "keepalive_idle_conns_per_host of the reverse_proxy site (0: Caddy's default, 32)")
	fs.BoolVar(&c.noBuild, "no-build", false, "reuse bench/bin/caddy instead of building it")
	fs.String("role", "", "internal: '-role upstream -ctl ADDR -rp ADDR -openai ADDR -anthropic ADDR' (first flag) runs the fake upstreams")
	_ = fs.Parse(args)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.quick {
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("rounds", func() { c.rounds = 1 })
		def("d", func() { c.jsonDur = 700 * time.Millisecond })
		def("ttfc-d", func() { c.ttfcDur = 500 * time.Millisecond })
		def("relay-streams", func() { c.relayCount = 1000 })
		def("idle", func() { c.idle = 1000 })
		def("warmup", func() { c.warmup = 300 * time.Millisecond })
		def("peak-d", func() { c.peakDur = 500 * time.Millisecond })
		def("benchtime", func() { c.benchtime = "300x" })
		def("profile-d", func() { c.profileDur = 3 * time.Second })
	}
	if c.rounds < 1 || c.conc < 1 || c.streamConc < 1 || c.chunks < 1 || c.relayCount < 1 || c.idle < 1 {
		fmt.Fprintln(os.Stderr, "bench: rounds, -c, -streams, -chunks, -relay-streams and -idle must be positive")
		os.Exit(2)
	}
	return c
}

func main() {
	if len(os.Args) > 2 && (os.Args[1] == "-role" || os.Args[1] == "--role") && os.Args[2] == "upstream" {
		runUpstream(os.Args[3:])
		return
	}
	cfg := parseFlags(os.Args[1:])
	if err := benchmark(cfg); err != nil {
		children.killAll()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// children are the processes started, killed on exit and on interrupt.
var children = &procSet{m: map[*proc]bool{}}

type procSet struct {
	mu sync.Mutex
	m  map[*proc]bool
}

func (s *procSet) add(p *proc)    { s.mu.Lock(); s.m[p] = true; s.mu.Unlock() }
func (s *procSet) remove(p *proc) { s.mu.Lock(); delete(s.m, p); s.mu.Unlock() }
func (s *procSet) killAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.m {
		_ = p.cmd.Process.Kill()
	}
	s.m = map[*proc]bool{}
}

var tasksetPath string

type envInfo struct {
	root, binDir, caddyBin string
	loadCPU, caddyCPU      int
	goVersion, caddyVer    string
	redisVer               string
	commit                 string
	cpuModel               string
	nproc                  int
	kernel                 string
	notes                  []string
	nofile                 uint64
}

func (e *envInfo) note(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	e.notes = append(e.notes, s)
	logf("note: %s", s)
}

var t0 = time.Now()

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, a...))
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run from inside the caddy-llm-router module (go run ./bench)")
	}
	b, err := os.ReadFile(mod)
	if err != nil || !strings.Contains(string(b), "module github.com/llmrouter/caddy-llm-router") {
		return "", fmt.Errorf("%s is not the caddy-llm-router module", mod)
	}
	return filepath.Dir(mod), nil
}

// raiseNofile raises RLIMIT_NOFILE (inherited by the children) so that
// 10,000 streams fit: ~2 descriptors per stream in Caddy.
func raiseNofile(want uint64) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Max < want {
		try := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &try) == nil {
			return want
		}
	}
	lim.Cur = lim.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

func cmdOut(dir string, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.IndexByte(l, ':'); i > 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return "unknown"
}

// phase is one kind of measured run.
type phase struct {
	name   string
	shape  streamShape
	stream bool
	model  string
	conc   int
	dur    time.Duration
	count  int
	stag   time.Duration
}

// sample is one measured run of one variant.
type sample struct {
	res      runResult
	caddyCPU time.Duration
	loadCPU  time.Duration // the load generator and the fake upstreams
	upConns  int64         // connections the fake upstream accepted
	// CPU time of other processes on Caddy's CPU and on the load CPU, and
	// the VM's steal time on Caddy's CPU (pinned runs only).
	foreignCaddy, foreignLoad, steal time.Duration
	// redis is what the run cost the Redis store (variant j only).
	redis *redisDelta
}

type memSample struct {
	base, open     int64
	opened, failed int
	why            string
}

type results struct {
	cfg      *config
	env      *envInfo
	vs       []*variant
	phases   []phase
	runs     map[string]map[string][]sample // phase → variant → rounds
	idle     map[string][]memSample
	peak     map[string][]int64
	goBench  []goBenchRun
	profiles []profileOut
	started  time.Time
	took     time.Duration
	// load is the 1-minute load average, sampled at the start and after
	// every round.
	load []float64
	// sent counts every request each variant answered (smoke, warm-up,
	// measured, profiled), for spans per request.
	sent map[string]int64
	// spans is what the OTLP sink received in all, once the exporter
	// flushed; exports its POSTs, badExports those it could not decode.
	spans, exports, badExports int64
	spansWaited                time.Duration
	// tracingOff is the share (%) of (b)'s CPU profile in the router's
	// tracing code, tracing being off; tracingOffErr why it is unknown.
	tracingOff     float64
	tracingOffErr  string
	tracingChecked bool
}

// measured reports whether variant key runs.
func (r *results) measured(key string) bool {
	v := variantByKey(r.vs, key)
	return v != nil && v.Missing == ""
}

type profileOut struct {
	title, file, top string
}

func failNote(ms memSample) string {
	if ms.failed == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d failed: %s)", ms.failed, ms.why)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func (s sample) summary(ph phase) string {
	res := s.res
	cpu := float64(s.caddyCPU.Microseconds()) / float64(max(res.requests, 1))
	busy := 100 * s.caddyCPU.Seconds() / res.wall.Seconds()
	red := ""
	if s.redis != nil {
		red = fmt.Sprintf("  Redis %.3f round trips/req", float64(s.redis.trips)/float64(max(res.requests+res.errors, 1)))
	}
	switch ph.name {
	case "json":
		return fmt.Sprintf("%8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  CPU %6.1f µs/req  (Caddy %3.0f%%, load %3.0f%%, others %2.0f%%, errors %d, upstream conns %d)%s",
			float64(res.requests)/res.wall.Seconds(), ms(pct(res.lat, 50)), ms(pct(res.lat, 99)), cpu, busy, 100*s.loadCPU.Seconds()/res.wall.Seconds(), foreign(s), res.errors, s.upConns, red)
	case "ttfc":
		return fmt.Sprintf("%d streams  TTFC p50 %6.2f ms  p99 %6.2f ms  (incomplete %d, upstream conns %d)",
			res.streams, ms(pct(res.lat, 50)), ms(pct(res.lat, 99)), res.incomplete, s.upConns)
	default:
		return fmt.Sprintf("%d streams  %8.0f chunks/s  CPU %7.1f µs/stream  (Caddy %3.0f%%, load %3.0f%%, others %2.0f%%, incomplete %d, upstream conns %d)%s",
			res.streams, float64(res.chunks)/res.wall.Seconds(), cpu, busy, 100*s.loadCPU.Seconds()/res.wall.Seconds(), foreign(s), res.incomplete, s.upConns, red)
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// pct is the p-th percentile (nearest rank) of ds; it sorts ds.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	if !sort.SliceIsSorted(ds, func(i, j int) bool { return ds[i] < ds[j] }) {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	}
	i := int(float64(len(ds))*p/100+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
