// Command bench is the side-by-side load benchmark of llm_router against
// Caddy's own reverse_proxy (issue 5). Run it from the module root:
//
//	go run ./bench          # full run, ~10 minutes on 2 cores
//	go run ./bench -quick   # smoke run, under a minute
//
// It builds the project's Caddy into bench/bin/caddy, starts fake upstreams
// (this same program with -role upstream), runs one Caddy with four sites
// ((a) reverse_proxy, (b) llm_router passthrough, (c) llm_router
// translation to Anthropic, (d) llm_router mock), drives them with its own
// closed-loop HTTP/1.1 load generator and writes bench/RESULTS.md. See
// bench/README.md for the flags and what each figure means.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
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
	fs.BoolVar(&c.quick, "quick", false, "smoke run (under a minute): 1 round, short runs, 1,000 idle streams; overrides the sizes below unless they are set explicitly")
	fs.IntVar(&c.rounds, "rounds", 5, "interleaved rounds (a b c d a b c d …); medians are taken over them")
	fs.IntVar(&c.conc, "c", 32, "concurrency (connections) of the non-streamed load")
	fs.DurationVar(&c.jsonDur, "d", 5*time.Second, "duration of one non-streamed run")
	fs.IntVar(&c.streamConc, "streams", 100, "concurrent streams in the time-to-first-chunk and relay runs")
	fs.IntVar(&c.chunks, "chunks", 50, "content chunks per stream")
	fs.DurationVar(&c.ttfcDelay, "chunk-delay", 20*time.Millisecond, "delay between upstream chunks in the time-to-first-chunk runs")
	fs.DurationVar(&c.ttfcDur, "ttfc-d", 3*time.Second, "duration of one time-to-first-chunk run (after the staggered start)")
	fs.IntVar(&c.relayCount, "relay-streams", 3000, "streams per relay run (zero delay between chunks)")
	fs.IntVar(&c.idle, "idle", 10000, "concurrent idle streams for the memory-per-stream figure")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "warm-up per variant and kind, at full concurrency, before the rounds")
	fs.DurationVar(&c.peakDur, "peak-d", 1500*time.Millisecond, "duration of each load of the peak-RSS runs (fresh Caddy per variant)")
	fs.StringVar(&c.variants, "variants", "abcd", "variants to run: any of a (reverse_proxy), b (passthrough), c (translation), d (mock); a is always run")
	fs.StringVar(&c.out, "o", "bench/RESULTS.md", "where to write the Markdown results (relative to the module root)")
	fs.BoolVar(&c.goBench, "gobench", true, "run the Go benchmarks (go test -bench -benchmem) for allocations per request")
	fs.StringVar(&c.benchtime, "benchtime", "2000x", "-benchtime of the Go benchmarks")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "variant (a, b, c, d or its name) whose Caddy CPU profile to fetch from the admin /debug/pprof/ endpoint under load; saved in bench/profiles/")
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

func allVariants() []*variant {
	return []*variant{
		{Key: "a", Name: "reverse_proxy", Title: "reverse_proxy (flush_interval -1)"},
		{Key: "b", Name: "passthrough", Title: "llm_router, openai target (passthrough)"},
		{Key: "c", Name: "translation", Title: "llm_router, anthropic target (translation)"},
		{Key: "d", Name: "mock", Title: "llm_router, mock target (no upstream)"},
	}
}

func findVariant(vs []*variant, s string) *variant {
	for _, v := range vs {
		if s == v.Key || s == v.Name || s == "("+v.Key+")" {
			return v
		}
	}
	return nil
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
}

type profileOut struct {
	title, file, top string
}

// bench is the whole benchmark: the orchestrator role.
func benchmark(cfg *config) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	env := &envInfo{root: root, binDir: filepath.Join(root, "bench", "bin"), loadCPU: cfg.loadCPU, caddyCPU: cfg.caddyCPU}
	env.caddyBin = filepath.Join(env.binDir, "caddy")
	r := &results{cfg: cfg, env: env, started: time.Now(),
		runs: map[string]map[string][]sample{}, idle: map[string][]memSample{}, peak: map[string][]int64{}}
	if err := os.MkdirAll(env.binDir, 0o755); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		children.killAll()
		fmt.Fprintln(os.Stderr, "bench: interrupted")
		os.Exit(130)
	}()

	// Caddy holds two descriptors per open stream (client and upstream).
	env.nofile = raiseNofile(1 << 17)
	if need := uint64(2*cfg.idle + 512); env.nofile < need {
		n := int(env.nofile-512) / 2
		env.note("RLIMIT_NOFILE cannot be raised above %d here (hard limit), too few for %d idle streams (2 descriptors each in Caddy): the memory-per-stream runs use %d streams", env.nofile, cfg.idle, n)
		cfg.idle = n
	}
	env.nproc = runtime.NumCPU()
	env.cpuModel = cpuModel()
	env.goVersion = cmdOut(root, "go", "env", "GOVERSION")
	env.kernel = cmdOut(root, "uname", "-r")
	env.commit = cmdOut(root, "git", "rev-parse", "--short=12", "HEAD")
	if p, err := exec.LookPath("taskset"); err == nil {
		tasksetPath = p
	} else {
		env.note("taskset not found: processes are NOT pinned (load generator and Caddy share all CPUs); figures are noisier and CPU µs/request includes more scheduler effects")
	}
	if env.nproc < 2 && tasksetPath != "" {
		env.note("only %d CPU: processes are not pinned", env.nproc)
		tasksetPath = ""
	}
	if cpus := allowedCPUs(); tasksetPath != "" && cpus != nil && (!cpus[cfg.loadCPU] || !cpus[cfg.caddyCPU]) {
		env.note("CPU %d or %d is not in this process's allowed CPUs: processes are not pinned", cfg.loadCPU, cfg.caddyCPU)
		tasksetPath = ""
	}
	if cfg.loadCPU == cfg.caddyCPU && tasksetPath != "" {
		env.note("-load-cpu equals -caddy-cpu: Caddy shares its CPU with the load generator")
	}

	// 1. Build Caddy once.
	if cfg.noBuild {
		if _, err := os.Stat(env.caddyBin); err != nil {
			return fmt.Errorf("-no-build: %v", err)
		}
		logf("reusing %s", env.caddyBin)
	} else {
		logf("building Caddy: go build -o bench/bin/caddy ./cmd/caddy")
		cmd := exec.Command("go", "build", "-o", env.caddyBin, "./cmd/caddy")
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building Caddy: %v", err)
		}
	}
	env.caddyVer = cmdOut(root, env.caddyBin, "version")
	mods := cmdOut(root, env.caddyBin, "list-modules")
	if !strings.Contains(mods, "http.handlers.llm_router") {
		return fmt.Errorf("%s has no http.handlers.llm_router module", env.caddyBin)
	}
	vs := allVariants()
	for _, v := range vs {
		if v.Key != "a" && !strings.Contains(cfg.variants, v.Key) {
			v.Missing = "not selected (-variants)"
		}
	}
	for _, v := range vs {
		prov := map[string]string{"passthrough": "openai", "translation": "anthropic", "mock": "mock"}[v.Name]
		if prov != "" && v.Missing == "" && !strings.Contains(mods, "http.llm_router.providers."+prov) {
			v.Missing = "provider " + prov + " is not registered in this build (no http.llm_router.providers." + prov + " in caddy list-modules)"
			env.note("variant (%s) %s not measured: %s", v.Key, v.Name, v.Missing)
		}
	}
	r.vs = vs

	// 2. Go benchmarks (unpinned, before any load).
	if cfg.goBench {
		for _, job := range []struct{ pkg, re string }{
			{"./bench", "ReverseProxy|Passthrough|Anthropic|Mock"},
			{".", "Passthrough|Mock|Anthropic"},
			{"./providers/anthropic", "."},
		} {
			if _, err := os.Stat(filepath.Join(root, job.pkg)); err != nil {
				continue
			}
			logf("go benchmarks: %s", job.pkg)
			gb := runGoBench(root, job.pkg, job.re, cfg.benchtime)
			if gb.Err != "" {
				env.note("go benchmarks of %s: %s", job.pkg, gb.Err)
			}
			r.goBench = append(r.goBench, gb)
		}
	}

	// 3. Ports, config, fake upstreams (CPU 0), pin ourselves (CPU 0).
	var p ports
	for _, dst := range []*int{&p.admin, &p.ctl, &p.upRP, &p.upOpenAI, &p.upAnthropic} {
		if *dst, err = freePort(); err != nil {
			return err
		}
	}
	for _, v := range vs {
		if v.Port, err = freePort(); err != nil {
			return err
		}
	}
	// Each router site alone must pass `caddy validate`; one that does not
	// (a provider still being written, say) is left out, not fatal.
	for _, v := range vs {
		if v.Key == "a" || v.Missing != "" {
			continue
		}
		alone := []*variant{vs[0], v}
		path := filepath.Join(env.binDir, "Caddyfile."+v.Name)
		if err := os.WriteFile(path, []byte(caddyConfig(p, alone, cfg)), 0o644); err != nil {
			return err
		}
		cmd := exec.Command(env.caddyBin, "validate", "--config", path, "--adapter", "caddyfile")
		if out, err := cmd.CombinedOutput(); err != nil {
			msg := lastLines(strings.TrimSpace(string(out)), 1)
			var line struct{ Msg, Error string }
			if json.Unmarshal([]byte(msg), &line) == nil && line.Msg != "" {
				msg = line.Msg
				if line.Error != "" {
					msg += ": " + line.Error
				}
			}
			v.Missing = "its site does not pass caddy validate: " + msg
			env.note("variant (%s) %s not measured: %s", v.Key, v.Name, v.Missing)
		}
		_ = os.Remove(path)
	}
	cfgPath := filepath.Join(env.binDir, "Caddyfile")
	if err := os.WriteFile(cfgPath, []byte(caddyConfig(p, vs, cfg)), 0o644); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(env.binDir, "caddy.log"))
	self, err := os.Executable()
	if err != nil {
		return err
	}
	up, err := startProc("fake upstream", env.loadCPU, filepath.Join(env.binDir, "upstream.log"), self, "-role", "upstream",
		"-ctl", fmt.Sprintf("127.0.0.1:%d", p.ctl), "-rp", fmt.Sprintf("127.0.0.1:%d", p.upRP),
		"-openai", fmt.Sprintf("127.0.0.1:%d", p.upOpenAI), "-anthropic", fmt.Sprintf("127.0.0.1:%d", p.upAnthropic))
	if err != nil {
		return err
	}
	defer up.stop(time.Second)
	if err := waitTCP(fmt.Sprintf("127.0.0.1:%d", p.ctl), 20*time.Second, up); err != nil {
		return err
	}
	if tasksetPath != "" {
		if out, err := exec.Command(tasksetPath, "-a", "-p", "-c", strconv.Itoa(env.loadCPU), strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
			env.note("could not pin the load generator: %v %s", err, out)
		} else {
			runtime.GOMAXPROCS(1)
		}
	}
	debug.SetGCPercent(400)
	ctl := fmt.Sprintf("http://127.0.0.1:%d", p.ctl)
	setShape := func(s streamShape) error {
		q := url.Values{"chunks": {strconv.Itoa(s.Chunks)}, "delay": {s.Delay.String()}}
		if s.Idle {
			q.Set("idle", "1")
		}
		_, err := httpGet(ctl+"/mode?"+q.Encode(), "", 10*time.Second)
		return err
	}
	upConns := func() map[string]int64 {
		m := map[string]int64{}
		if b, err := httpGet(ctl+"/stats", "", 10*time.Second); err == nil {
			_ = json.Unmarshal(b, &m)
		}
		return m
	}
	upName := map[string]string{"reverse_proxy": "rp", "passthrough": "openai", "translation": "anthropic"}

	// 4. One Caddy (CPU 1), smoke-checked variant by variant.
	logf("starting Caddy (%s)", cfgPath)
	caddy, err := startCaddy(env, cfgPath, p, vs)
	if err != nil {
		return err
	}
	defer func() { caddy.stop(3 * time.Second) }()

	fastShape := streamShape{Chunks: cfg.chunks}
	reqFor := func(v *variant, ph phase) []byte { return buildRequest(v.addr(), chatBody(ph.model, ph.stream)) }
	if err := setShape(fastShape); err != nil {
		return fmt.Errorf("fake upstream control: %v", err)
	}
	for _, v := range vs {
		if v.Missing != "" {
			continue
		}
		for _, stream := range []bool{false, true} {
			c, err := dial(v.addr())
			if err != nil {
				return err
			}
			_, chunks, ok, complete, why := c.one(buildRequest(v.addr(), chatBody("bench-fast", stream)), stream)
			c.close()
			if !ok || !complete {
				v.Missing = fmt.Sprintf("smoke request failed (stream=%v): %s", stream, why)
				env.note("variant (%s) %s not measured: %s", v.Key, v.Name, v.Missing)
				break
			}
			if stream && chunks != int64(cfg.chunks+3) {
				env.note("variant (%s) %s: a stream has %d chunks before [DONE], expected %d (role + %d content + finish + usage)", v.Key, v.Name, chunks, cfg.chunks+3, cfg.chunks)
			}
		}
	}
	active := func() []*variant {
		var out []*variant
		for _, v := range vs {
			if v.Missing == "" {
				out = append(out, v)
			}
		}
		return out
	}

	r.phases = []phase{
		{name: "json", shape: fastShape, model: "bench-fast", conc: cfg.conc, dur: cfg.jsonDur},
		{name: "ttfc", shape: streamShape{Chunks: cfg.chunks, Delay: cfg.ttfcDelay}, stream: true, model: "bench-slow",
			conc: cfg.streamConc, dur: cfg.ttfcDur, stag: time.Duration(cfg.chunks) * cfg.ttfcDelay},
		{name: "relay", shape: fastShape, stream: true, model: "bench-fast", conc: cfg.streamConc, count: cfg.relayCount},
	}
	measure := func(ph phase, v *variant, pid int) (sample, error) {
		var s sample
		var c0, l0, u0 time.Duration
		var sc0, sl0 cpuStat
		var conns0 map[string]int64
		spec := runSpec{addr: v.addr(), req: reqFor(v, ph), stream: ph.stream, conc: ph.conc, dur: ph.dur, count: ph.count, stagger: ph.stag}
		spec.around = func(at string) {
			c, _ := cpuTime(pid)
			l, _ := cpuTime(os.Getpid())
			u, _ := cpuTime(up.pid)
			sc, _ := readCPUStat(env.caddyCPU)
			sl, _ := readCPUStat(env.loadCPU)
			if at == "start" {
				c0, l0, u0, sc0, sl0 = c, l, u, sc, sl
				return
			}
			s.caddyCPU, s.loadCPU = c-c0, (l-l0)+(u-u0)
			if tasksetPath != "" {
				s.foreignCaddy = max(ticks(sc.task-sc0.task)-s.caddyCPU, 0)
				s.foreignLoad = max(ticks(sl.task-sl0.task)-s.loadCPU, 0)
				s.steal = ticks(sc.steal - sc0.steal)
			}
		}
		conns0 = upConns()
		res, err := run(spec)
		if err != nil {
			return s, err
		}
		if n := upName[v.Name]; n != "" {
			s.upConns = upConns()[n] - conns0[n]
		}
		s.res = res
		return s, nil
	}

	// 5. Warm-up at full concurrency.
	for _, v := range active() {
		logf("warm-up (%s) %s", v.Key, v.Name)
		for _, ph := range []phase{
			{shape: fastShape, model: "bench-fast", conc: cfg.conc, dur: cfg.warmup},
			{shape: fastShape, stream: true, model: "bench-fast", conc: cfg.streamConc, dur: cfg.warmup},
		} {
			_ = setShape(ph.shape)
			if _, err := run(runSpec{addr: v.addr(), req: reqFor(v, ph), stream: ph.stream, conc: ph.conc, dur: ph.dur}); err != nil {
				return err
			}
		}
	}

	// 6. Interleaved rounds.
	for round := 1; round <= cfg.rounds; round++ {
		for _, ph := range r.phases {
			if err := setShape(ph.shape); err != nil {
				return err
			}
			if r.runs[ph.name] == nil {
				r.runs[ph.name] = map[string][]sample{}
			}
			for _, v := range active() {
				s, err := measure(ph, v, caddy.pid)
				if err != nil {
					return fmt.Errorf("round %d %s (%s): %v", round, ph.name, v.Key, err)
				}
				r.runs[ph.name][v.Key] = append(r.runs[ph.name][v.Key], s)
				logf("round %d/%d %-5s (%s) %-13s %s", round, cfg.rounds, ph.name, v.Key, v.Name, s.summary(ph))
			}
		}
	}

	// 7. Profiles, outside the measured runs.
	if err := r.profile(caddy, p, setShape, fastShape, reqFor); err != nil {
		env.note("profiles: %v", err)
	}
	caddy.stop(3 * time.Second)

	// 8. Memory: a fresh Caddy per variant and round, so that one
	// variant's heap does not hide (or inflate) another's.
	idleShape := streamShape{Chunks: cfg.chunks, Idle: true}
	for round := 1; round <= cfg.rounds; round++ {
		for _, v := range active() {
			// Peak RSS under this variant's load alone.
			c, err := startCaddy(env, cfgPath, p, vs)
			if err != nil {
				return err
			}
			_ = setShape(fastShape)
			for _, ph := range []phase{
				{model: "bench-fast", conc: cfg.conc, dur: cfg.peakDur},
				{stream: true, model: "bench-fast", conc: cfg.streamConc, dur: cfg.peakDur},
			} {
				if _, err := run(runSpec{addr: v.addr(), req: reqFor(v, ph), stream: ph.stream, conc: ph.conc, dur: ph.dur}); err != nil {
					c.stop(time.Second)
					return err
				}
			}
			_, hwm, err := memStatus(c.pid)
			c.stop(3 * time.Second)
			if err != nil {
				return err
			}
			r.peak[v.Key] = append(r.peak[v.Key], hwm)

			// Memory per open idle stream.
			c, err = startCaddy(env, cfgPath, p, vs)
			if err != nil {
				return err
			}
			_ = setShape(fastShape)
			for _, stream := range []bool{false, true} { // first-use allocations out of the delta
				_, _ = run(runSpec{addr: v.addr(), req: buildRequest(v.addr(), chatBody("bench-fast", stream)), stream: stream, conc: 4, count: 20})
			}
			time.Sleep(300 * time.Millisecond)
			base, _, _ := memStatus(c.pid)
			_ = setShape(idleShape)
			is := openIdle(v.addr(), buildRequest(v.addr(), chatBody("bench-idle", true)), cfg.idle, 256, 60*time.Second)
			time.Sleep(time.Second)
			open, _, _ := memStatus(c.pid)
			ms := memSample{base: base, open: open, opened: is.opened, failed: is.failed, why: is.why}
			is.close()
			c.stop(3 * time.Second)
			r.idle[v.Key] = append(r.idle[v.Key], ms)
			logf("round %d/%d mem   (%s) %-13s peak RSS %.1f MiB; %d idle streams: RSS %.1f → %.1f MiB, %.1f KiB/stream%s",
				round, cfg.rounds, v.Key, v.Name, mib(hwm), ms.opened, mib(base), mib(open), float64(open-base)/1024/float64(max(ms.opened, 1)), failNote(ms))
		}
	}
	r.took = time.Since(r.started)

	// 9. Report.
	md := r.markdown()
	out := cfg.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Println(md)
	logf("wrote %s", out)
	return nil
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
	switch ph.name {
	case "json":
		return fmt.Sprintf("%8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  CPU %6.1f µs/req  (Caddy %3.0f%%, load %3.0f%%, others %2.0f%%, errors %d, upstream conns %d)",
			float64(res.requests)/res.wall.Seconds(), ms(pct(res.lat, 50)), ms(pct(res.lat, 99)), cpu, busy, 100*s.loadCPU.Seconds()/res.wall.Seconds(), foreign(s), res.errors, s.upConns)
	case "ttfc":
		return fmt.Sprintf("%d streams  TTFC p50 %6.2f ms  p99 %6.2f ms  (incomplete %d, upstream conns %d)",
			res.streams, ms(pct(res.lat, 50)), ms(pct(res.lat, 99)), res.incomplete, s.upConns)
	default:
		return fmt.Sprintf("%d streams  %8.0f chunks/s  CPU %7.1f µs/stream  (Caddy %3.0f%%, load %3.0f%%, others %2.0f%%, incomplete %d, upstream conns %d)",
			res.streams, float64(res.chunks)/res.wall.Seconds(), cpu, busy, 100*s.loadCPU.Seconds()/res.wall.Seconds(), foreign(s), res.incomplete, s.upConns)
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
