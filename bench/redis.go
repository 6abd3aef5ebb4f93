package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The keyed variant on `store redis` talks to a local redis-server that
// the bench starts (pinned with the load generator) and asks, around each
// run, how many commands it served: INFO commandstats before and after.

// redisBinary is the redis-server to run: $REDIS_SERVER, else the one on
// PATH (as internal/redistest finds it).
func redisBinary() (string, error) {
	if b := os.Getenv("REDIS_SERVER"); b != "" {
		if _, err := os.Stat(b); err != nil {
			return "", fmt.Errorf("$REDIS_SERVER=%s: %v", b, err)
		}
		return b, nil
	}
	b, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redis-server not found: apt-get install -y redis-server (or set $REDIS_SERVER)")
	}
	return b, nil
}

// startRedis runs a redis-server on port, without persistence, in dir,
// pinned to cpu, and waits until it answers PING.
func startRedis(bin string, port, cpu int, dir string) (*proc, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p, err := startProc("redis-server", cpu, filepath.Join(dir, "redis.log"), nil, bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no")
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := redisCommand(addr, "PING"); err == nil {
			return p, nil
		}
		if !alive(p.pid) {
			return nil, fmt.Errorf("redis-server exited (see %s)", filepath.Join(dir, "redis.log"))
		}
		if time.Now().After(deadline) {
			p.stop(time.Second)
			return nil, fmt.Errorf("redis-server on %s did not answer PING within 15s", addr)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// redisCommand sends one inline command and returns its reply (a simple
// string, an error, an integer or a bulk string).
func redisCommand(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
		return "", err
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "+"), strings.HasPrefix(line, ":"):
		return line[1:], nil
	case strings.HasPrefix(line, "-"):
		return "", fmt.Errorf("redis: %s", line[1:])
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("redis: bad bulk length %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("redis: unexpected reply %q", line)
}

// commandStats are the calls per command (lower case) that INFO
// commandstats reports.
type commandStats map[string]int64

// redisCommandStats reads INFO commandstats.
func redisCommandStats(addr string) (commandStats, error) {
	info, err := redisCommand(addr, "INFO commandstats")
	if err != nil {
		return nil, err
	}
	return parseCommandStats(info), nil
}

// parseCommandStats reads lines such as
// "cmdstat_evalsha:calls=12,usec=345,usec_per_call=28.75,...".
func parseCommandStats(info string) commandStats {
	out := commandStats{}
	for _, l := range strings.Split(info, "\n") {
		l = strings.TrimSpace(l)
		name, rest, ok := strings.Cut(strings.TrimPrefix(l, "cmdstat_"), ":")
		if !ok || !strings.HasPrefix(l, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				out[strings.ToLower(name)] = n
			}
		}
	}
	return out
}

// clientCommands are the commands only a client sends (never a script's
// redis.call): each one is a round trip. INFO commandstats also counts
// every command a script runs, under its own name; the store changes data
// only inside its Lua scripts, so all other commands are those.
var clientCommands = map[string]bool{
	"evalsha": true, "eval": true, "evalsha_ro": true, "eval_ro": true, "fcall": true,
	"hello": true, "auth": true, "select": true, "ping": true, "quit": true, "readonly": true,
	"client|setinfo": true, "client|setname": true, "client": true, "script|load": true,
}

// redisDelta is what a run cost Redis: the commands of each kind between
// two INFO commandstats, without the INFO commands themselves.
type redisDelta struct {
	// trips are the commands clients sent (round trips); scripts the
	// EVALSHA and EVAL among them; inScripts the commands the scripts ran.
	trips, scripts, inScripts int64
	byName                    map[string]int64
}

func diffCommandStats(before, after commandStats) redisDelta {
	d := redisDelta{byName: map[string]int64{}}
	for name, n := range after {
		if name == "info" {
			continue
		}
		k := n - before[name]
		if k <= 0 {
			continue
		}
		d.byName[name] = k
		if clientCommands[name] {
			d.trips += k
		} else {
			d.inScripts += k
		}
	}
	d.scripts = d.byName["evalsha"] + d.byName["eval"]
	return d
}
