package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// profile fetches pprof profiles of the Caddy under test from its admin
// endpoint (/debug/pprof/) while one chosen variant is under load: one
// non-streamed load and one streamed (relay) load, each -profile-d long.
// These loads are not part of the measured rounds.
func (r *results) profile(p ports, setShape func(streamShape) error, fast streamShape,
	specFor func(*variant, phase) runSpec, load func(*variant, runSpec) (runResult, error)) error {
	cfg, env := r.cfg, r.env
	type job struct{ cpu, mem bool }
	jobs := map[*variant]*job{}
	for _, sel := range []struct {
		name string
		cpu  bool
	}{{cfg.cpuProfile, true}, {cfg.memProfile, false}} {
		if sel.name == "" {
			continue
		}
		v := findVariant(r.vs, sel.name)
		if v == nil {
			return fmt.Errorf("no variant %q (use its letter or name, see bench/README.md)", sel.name)
		}
		if v.Missing != "" {
			return fmt.Errorf("variant (%s) is not measured: %s", v.Key, v.Missing)
		}
		if jobs[v] == nil {
			jobs[v] = &job{}
		}
		if sel.cpu {
			jobs[v].cpu = true
		} else {
			jobs[v].mem = true
		}
	}
	// With tracing measured, (b)'s CPU profile shows what the router's
	// tracing code costs when tracing is off.
	if b := variantByKey(r.vs, "b"); b != nil && b.Missing == "" && r.measured("k") {
		if jobs[b] == nil {
			jobs[b] = &job{}
		}
		jobs[b].cpu = true
	}
	if len(jobs) == 0 {
		return nil
	}
	dir := filepath.Join(env.root, "bench", "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	admin := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", p.admin)
	secs := int(cfg.profileDur.Seconds())
	if secs < 1 {
		secs = 1
	}
	var errs []string
	for _, v := range r.vs {
		j := jobs[v]
		if j == nil {
			continue
		}
		for _, ph := range []phase{
			{name: "json", model: "bench-fast", conc: cfg.conc},
			{name: "stream", stream: true, model: "bench-fast", conc: cfg.streamConc},
		} {
			if err := setShape(fast); err != nil {
				return err
			}
			logf("profiling (%s) %s, %s load, %ds", v.Key, v.Name, ph.name, secs)
			base := filepath.Join(dir, v.Name+"-"+ph.name)
			var wg sync.WaitGroup
			var mu sync.Mutex
			fetch := func(kind, url, file string) {
				defer wg.Done()
				if _, err := httpGet(url, file, time.Duration(secs+30)*time.Second); err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
					return
				}
				top := pprofTop(env, file, kind)
				mu.Lock()
				r.profiles = append(r.profiles, profileOut{title: fmt.Sprintf("(%s) %s, %s load: %s", v.Key, v.Name, ph.name, kind), file: file, top: top})
				mu.Unlock()
			}
			done := make(chan error, 1)
			go func() {
				ph.dur = time.Duration(secs)*time.Second + 1500*time.Millisecond
				_, err := load(v, specFor(v, ph))
				done <- err
			}()
			time.Sleep(500 * time.Millisecond) // let the load reach full concurrency
			if j.cpu {
				wg.Add(1)
				go fetch("cpu", fmt.Sprintf("%s/profile?seconds=%d", admin, secs), base+".cpu.pb.gz")
			}
			if j.mem {
				wg.Add(1)
				go fetch("allocs", fmt.Sprintf("%s/allocs?seconds=%d", admin, secs), base+".allocs.pb.gz")
			}
			wg.Wait()
			if err := <-done; err != nil {
				return err
			}
			if j.mem {
				wg.Add(1)
				fetch("heap", admin+"/heap", base+".heap.pb.gz")
			}
			if j.cpu && v.Key == "b" && ph.name == "json" {
				r.tracingOff, r.tracingOffErr = focusShare(env, base+".cpu.pb.gz", tracingFuncs)
				r.tracingChecked = true
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// pprofTop is the head of `go tool pprof -top` of a saved profile.
func pprofTop(env *envInfo, file, kind string) string {
	args := []string{"tool", "pprof", "-top", "-nodecount=15"}
	switch kind {
	case "allocs":
		args = append(args, "-sample_index=alloc_space")
	case "heap":
		args = append(args, "-sample_index=inuse_space")
	}
	args = append(args, env.caddyBin, file)
	cmd := exec.Command("go", args...)
	cmd.Dir = env.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("go tool pprof failed: %v", err)
	}
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Time:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// tracingFuncs matches the router's tracing code (tracing.go), for
// pprof's -focus.
const tracingFuncs = `caddy-llm-router\.(\(\*exchange\)\.)?(startTracing|startAttempt|endAttempt|injectTraceparent|finishTracing)`

var focusLine = regexp.MustCompile(`Showing nodes accounting for [^,]+, ([0-9.]+)% of`)

// focusShare is the share (%) of a CPU profile's samples with a function
// matching re on their stack.
func focusShare(env *envInfo, file, re string) (float64, string) {
	cmd := exec.Command("go", "tool", "pprof", "-top", "-nodecount=1", "-focus", re, env.caddyBin, file)
	cmd.Dir = env.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Sprintf("go tool pprof: %v", err)
	}
	m := focusLine.FindSubmatch(out)
	if m == nil {
		return 0, "go tool pprof: no total in its output"
	}
	x, _ := strconv.ParseFloat(string(m[1]), 64)
	return x, ""
}
