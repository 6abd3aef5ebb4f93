package main

import (
	"encoding/json"
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
	"syscall"
	"time"
)

// benchmark is the whole benchmark: the orchestrator role.
func benchmark(cfg *config) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	env := &envInfo{root: root, binDir: filepath.Join(root, "bench", "bin"), loadCPU: cfg.loadCPU, caddyCPU: cfg.caddyCPU}
	env.caddyBin = filepath.Join(env.binDir, "caddy")
	r := &results{cfg: cfg, env: env, started: time.Now(), sent: map[string]int64{},
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
	r.sampleLoad()

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
	selected(vs, cfg.variants)
	for _, v := range vs {
		if prov := siteProviders[v.Site]; prov != "" && v.Missing == "" && !strings.Contains(mods, "http.llm_router.providers."+prov) {
			v.Missing = "provider " + prov + " is not registered in this build (no http.llm_router.providers." + prov + " in caddy list-modules)"
			env.note("variant (%s) %s not measured: %s", v.Key, v.Name, v.Missing)
		}
	}
	r.vs = vs
	on := func(key string) bool { v := variantByKey(vs, key); return v != nil && v.Missing == "" }

	// 2. Go benchmarks (unpinned, before any load).
	if cfg.goBench {
		for _, job := range goBenchJobs {
			if _, err := os.Stat(filepath.Join(root, job.pkg)); err != nil {
				continue
			}
			logf("go benchmarks: %s", job.pkg)
			gb := runGoBench(root, job.pkg, job.re, cfg.benchtime)
			if gb.Err != "" {
				env.note("go benchmarks of %s: %s", job.pkg, gb.Err)
			}
			r.goBench = append(r.goBench, gb)
			r.sampleLoad()
		}
	}

	// 3. Ports, config, fake upstreams and Redis (load CPU), pin ourselves.
	p := ports{site: map[string]int{}}
	for _, dst := range []*int{&p.admin, &p.ctl, &p.upRP, &p.upOpenAI, &p.upAnthropic, &p.redis} {
		if *dst, err = freePort(); err != nil {
			return err
		}
	}
	for _, site := range siteOrder {
		if p.site[site], err = freePort(); err != nil {
			return err
		}
	}
	for _, v := range vs {
		v.Port = p.site[v.Site]
	}
	storage := filepath.Join(env.binDir, "caddy-data")
	if on("j") {
		bin, err := redisBinary()
		if err == nil {
			var red *proc
			red, err = startRedis(bin, p.redis, env.loadCPU, filepath.Join(env.binDir, "redis"))
			if err == nil {
				defer red.stop(2 * time.Second)
				redisPid = red.pid
				env.redisVer = firstLine(cmdOut(root, bin, "--version"))
			}
		}
		if err != nil {
			v := variantByKey(vs, "j")
			v.Missing = err.Error()
			env.note("variant (j) %s not measured: %v", v.Name, err)
		}
	}
	// Each site alone must pass `caddy validate`; one that does not (a
	// provider or feature still being written, say) is left out, not fatal.
	for _, site := range activeSites(vs) {
		if site == "rp" {
			continue
		}
		path := filepath.Join(env.binDir, "Caddyfile."+site)
		if err := os.WriteFile(path, []byte(caddyConfig(p, []string{site}, cfg, storage)), 0o644); err != nil {
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
			for _, v := range vs {
				if v.Site == site && v.Missing == "" {
					v.Missing = "its site does not pass caddy validate: " + msg
					env.note("variant (%s) %s not measured: %s", v.Key, v.Name, v.Missing)
				}
			}
		}
		_ = os.Remove(path)
	}
	cfgPath := filepath.Join(env.binDir, "Caddyfile")
	if err := os.WriteFile(cfgPath, []byte(caddyConfig(p, activeSites(vs), cfg, storage)), 0o644); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(env.binDir, "caddy.log"))
	self, err := os.Executable()
	if err != nil {
		return err
	}
	up, err := startProc("fake upstream", env.loadCPU, filepath.Join(env.binDir, "upstream.log"), nil, self, "-role", "upstream",
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
	upStats := func() map[string]int64 {
		m := map[string]int64{}
		if b, err := httpGet(ctl+"/stats", "", 10*time.Second); err == nil {
			_ = json.Unmarshal(b, &m)
		}
		return m
	}
	redisAddr := fmt.Sprintf("127.0.0.1:%d", p.redis)

	// 4. One Caddy (CPU 1), smoke-checked variant by variant.
	logf("starting Caddy (%s)", cfgPath)
	caddy, err := startCaddy(env, cfgPath, p, vs)
	if err != nil {
		return err
	}
	defer func() { caddy.stop(3 * time.Second) }()

	fastShape := streamShape{Chunks: cfg.chunks}
	reqFor := func(v *variant, ph phase) []byte {
		return buildRequest(v.addr(), v.API, requestBody(v.API, v.model(ph.model, ph.stream), ph.stream), v.Header)
	}
	specFor := func(v *variant, ph phase) runSpec {
		return runSpec{addr: v.addr(), api: v.API, req: reqFor(v, ph), stream: ph.stream, conc: ph.conc,
			dur: ph.dur, count: ph.count, stagger: ph.stag, wantHeader: v.Want}
	}
	// load is one unmeasured run, counted in sent.
	load := func(v *variant, spec runSpec) (runResult, error) {
		res, err := run(spec)
		r.sent[v.Key] += int64(res.requests + res.errors)
		return res, err
	}
	if err := setShape(fastShape); err != nil {
		return fmt.Errorf("fake upstream control: %v", err)
	}
	for _, v := range vs {
		if v.Missing != "" {
			continue
		}
		if err := r.smoke(v, load); err != nil {
			v.Missing = err.Error()
			env.note("variant (%s) %s not measured: %s", v.Key, v.Name, v.Missing)
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
		var c0, l0, u0, r0 time.Duration
		var sc0, sl0 cpuStat
		var red0 commandStats
		spec := specFor(v, ph)
		spec.around = func(at string) {
			c, _ := cpuTime(pid)
			l, _ := cpuTime(os.Getpid())
			u, _ := cpuTime(up.pid)
			var rc time.Duration
			var red commandStats
			if v.Key == "j" {
				red, _ = redisCommandStats(redisAddr)
				rc = redisCPU()
			}
			sc, _ := readCPUStat(env.caddyCPU)
			sl, _ := readCPUStat(env.loadCPU)
			if at == "start" {
				c0, l0, u0, r0, sc0, sl0, red0 = c, l, u, rc, sc, sl, red
				return
			}
			s.caddyCPU, s.loadCPU = c-c0, (l-l0)+(u-u0)+(rc-r0)
			if red0 != nil && red != nil {
				d := diffCommandStats(red0, red)
				s.redis = &d
			}
			if tasksetPath != "" {
				s.foreignCaddy = max(ticks(sc.task-sc0.task)-s.caddyCPU, 0)
				s.foreignLoad = max(ticks(sl.task-sl0.task)-s.loadCPU, 0)
				s.steal = ticks(sc.steal - sc0.steal)
			}
		}
		conns0 := upStats()
		res, err := run(spec)
		r.sent[v.Key] += int64(res.requests + res.errors)
		if err != nil {
			return s, err
		}
		if v.Upstream != "" {
			s.upConns = upStats()[v.Upstream] - conns0[v.Upstream]
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
			if _, err := load(v, specFor(v, ph)); err != nil {
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
			for _, v := range roundOrder(active(), round) {
				if ph.name == "ttfc" && v.NoTTFC {
					continue
				}
				s, err := measure(ph, v, caddy.pid)
				if err != nil {
					return fmt.Errorf("round %d %s (%s): %v", round, ph.name, v.Key, err)
				}
				r.runs[ph.name][v.Key] = append(r.runs[ph.name][v.Key], s)
				logf("round %d/%d %-5s (%s) %-21s %s", round, cfg.rounds, ph.name, v.Key, v.Name, s.summary(ph))
			}
		}
		r.sampleLoad()
	}

	// 7. Profiles, outside the measured runs.
	if err := r.profile(p, setShape, fastShape, specFor, load); err != nil {
		env.note("profiles: %v", err)
	}
	// Every span the tracing variant made reaches the sink within the
	// batch span processor's delay (5 s by default); wait for it here.
	if on("k") {
		r.waitSpans(upStats)
	}
	caddy.stop(3 * time.Second)

	// 8. Memory: a fresh Caddy per variant and round, so that one
	// variant's heap does not hide (or inflate) another's.
	idleShape := streamShape{Chunks: cfg.chunks, Idle: true}
	for round := 1; round <= cfg.rounds; round++ {
		for _, v := range active() {
			if !strings.Contains(cfg.memVars, v.Key) {
				continue
			}
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
				if _, err := run(specFor(v, ph)); err != nil {
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
				_, _ = run(specFor(v, phase{model: "bench-fast", stream: stream, conc: 4, count: 20}))
			}
			time.Sleep(300 * time.Millisecond)
			base, _, _ := memStatus(c.pid)
			_ = setShape(idleShape)
			is := openIdle(v.addr(), reqFor(v, phase{model: "bench-idle", stream: true}), cfg.idle, 256, 60*time.Second)
			time.Sleep(time.Second)
			open, _, _ := memStatus(c.pid)
			ms := memSample{base: base, open: open, opened: is.opened, failed: is.failed, why: is.why}
			is.close()
			c.stop(3 * time.Second)
			r.idle[v.Key] = append(r.idle[v.Key], ms)
			logf("round %d/%d mem   (%s) %-21s peak RSS %.1f MiB; %d idle streams: RSS %.1f → %.1f MiB, %.1f KiB/stream%s",
				round, cfg.rounds, v.Key, v.Name, mib(hwm), ms.opened, mib(base), mib(open), float64(open-base)/1024/float64(max(ms.opened, 1)), failNote(ms))
		}
	}
	r.sampleLoad()
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

// measureOrder puts each variant next to the one it is compared with, so
// that the two runs of a pair are seconds apart: the baselines first, the
// keyed, tracing and cache variants right after (b).
const measureOrder = "abijklcdmefngh"

// roundOrder is the order of the variants in a round: measureOrder, and
// reversed every other round, so that a drift of the machine's load during
// a round favours neither side of a pair over the rounds.
func roundOrder(vs []*variant, round int) []*variant {
	out := append([]*variant(nil), vs...)
	sort.SliceStable(out, func(i, j int) bool {
		oi, oj := strings.Index(measureOrder, out[i].Key), strings.Index(measureOrder, out[j].Key)
		if round%2 == 0 {
			return oi > oj
		}
		return oi < oj
	})
	return out
}

// smoke sends each of the variant's requests once, non-streamed and
// streamed, and checks the answers in its API's terms. A variant whose
// answers carry a header to check (Want) is primed first: the cache's
// first answer is a miss.
func (r *results) smoke(v *variant, load func(*variant, runSpec) (runResult, error)) error {
	type try struct {
		model  string
		stream bool
	}
	tries := []try{{"bench-fast", false}, {"bench-fast", true}}
	for _, t := range tries {
		spec := runSpec{addr: v.addr(), api: v.API, req: buildRequest(v.addr(), v.API, requestBody(v.API, v.model(t.model, t.stream), t.stream), v.Header),
			stream: t.stream, conc: 1, count: 1}
		if v.Key == "l" {
			if _, err := load(v, spec); err != nil { // the miss that fills the cache
				return err
			}
		}
		spec.wantHeader = v.Want
		res, err := load(v, spec)
		if err != nil {
			return err
		}
		if res.errors > 0 || res.incomplete > 0 || res.requests != 1 {
			return fmt.Errorf("smoke request failed (stream=%v): %s", t.stream, res.firstErr)
		}
		if t.stream && v.API == apiChat && res.chunks != int64(r.cfg.chunks+3) {
			r.env.note("variant (%s) %s: a stream has %d chunks before [DONE], expected %d (role + %d content + finish + usage)", v.Key, v.Name, res.chunks, r.cfg.chunks+3, r.cfg.chunks)
		}
	}
	return nil
}

// waitSpans waits until the OTLP sink has received every span the
// exporter will send: the count stops growing for longer than the batch
// span processor's delay (OTEL_BSP_SCHEDULE_DELAY, 5 s by default).
func (r *results) waitSpans(stats func() map[string]int64) {
	start := time.Now()
	last, stable := int64(-1), time.Now()
	for time.Since(start) < 30*time.Second {
		n := stats()["spans"]
		if n != last {
			last, stable = n, time.Now()
		} else if time.Since(stable) > 6*time.Second {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	m := stats()
	r.spans, r.exports, r.badExports = m["spans"], m["exports"], m["bad_exports"]
	r.spansWaited = time.Since(start)
}

// sampleLoad records the 1-minute load average.
func (r *results) sampleLoad() {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		if x, err := strconv.ParseFloat(f[0], 64); err == nil {
			r.load = append(r.load, x)
		}
	}
}

// redisPid is the pid of the bench's redis-server, for its CPU time.
var redisPid int

// redisCPU is the CPU time of the bench's redis-server so far.
func redisCPU() time.Duration {
	if redisPid == 0 {
		return 0
	}
	d, _ := cpuTime(redisPid)
	return d
}
