package main

import (
	"bufio"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// Allocations per request come from Go benchmarks: bench/'s own full-path
// benchmarks (paths_test.go: the same handlers, served in-process against
// the same fake upstreams) fill the tables; the other packages'
// benchmarks are reported as they are.

// bodySizes are the request sizes of the body-size benchmarks: what a
// passthrough allocates must not grow with the body beyond the one
// request buffer.
var bodySizes = []int{1 << 10, 64 << 10}

// goBenchJobs are the Go benchmarks run: package and -bench pattern.
var goBenchJobs = []struct{ pkg, re string }{
	{"./bench", "."},
	{".", "Passthrough|Mock|Anthropic"},
	{"./providers/anthropic", "."},
	{"./stores/memory", "."},
	{"./stores/redis", "AdmitSettle"},
}

type goBench struct {
	Pkg       string
	Name      string // without the -GOMAXPROCS suffix
	NsOp      float64
	BytesOp   float64
	AllocsOp  float64
	hasAllocs bool
	// Metrics are the benchmark's own (b.ReportMetric), by unit.
	Metrics map[string]float64
}

type goBenchRun struct {
	Pkg     string
	Command string
	Results []goBench
	Err     string // why it failed, if it did
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

// parseGoBench reads `go test -bench -benchmem` output.
func parseGoBench(pkg, out string) []goBench {
	var rs []goBench
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		r := goBench{Pkg: pkg, Name: m[1]}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.NsOp = v
			case "B/op":
				r.BytesOp = v
			case "allocs/op":
				r.AllocsOp, r.hasAllocs = v, true
			case "MB/s":
			default:
				if r.Metrics == nil {
					r.Metrics = map[string]float64{}
				}
				r.Metrics[f[i+1]] = v
			}
		}
		rs = append(rs, r)
	}
	return rs
}

// runGoBench runs the benchmarks matching re in pkg (a ./path) from root.
func runGoBench(root, pkg, re, benchtime string) goBenchRun {
	args := []string{"test", "-run", "^$", "-bench", re, "-benchmem", "-benchtime", benchtime, "-count", "1", pkg}
	r := goBenchRun{Pkg: pkg, Command: "go " + strings.Join(args, " ")}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	r.Results = parseGoBench(pkg, string(out))
	if err != nil {
		r.Err = fmt.Sprintf("%v: %s", err, lastLines(string(out), 6))
	} else if len(r.Results) == 0 {
		r.Err = "no benchmark matched"
	}
	return r
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " | ")
}
