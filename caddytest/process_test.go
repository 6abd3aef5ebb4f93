package integration

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The Caddy binary of this checkout (cmd/caddy), built once per test run,
// for tests that need Caddy processes of their own: several instances at
// once, or a real restart.
var caddyBinary struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

func buildCaddy(t *testing.T) string {
	t.Helper()
	caddyBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "llm-router-caddy-")
		if err != nil {
			caddyBinary.err = err
			return
		}
		caddyBinary.path = filepath.Join(dir, "caddy")
		cmd := exec.Command("go", "build", "-o", caddyBinary.path, "./cmd/caddy")
		cmd.Dir = ".."
		caddyBinary.out, caddyBinary.err = cmd.CombinedOutput()
	})
	if caddyBinary.err != nil {
		t.Fatalf("building ./cmd/caddy: %v\n%s", caddyBinary.err, caddyBinary.out)
	}
	return caddyBinary.path
}

// caddyProc is a Caddy process running a Caddyfile.
type caddyProc struct {
	t         *testing.T
	bin, dir  string
	config    string
	base      string // http://127.0.0.1:<port>
	adminURL  string
	cmd       *exec.Cmd
	out       *bytes.Buffer
	exited    chan struct{}
	env       []string
	httpPort  int
	adminPort int
}

// startCaddy runs a Caddy process serving site on a port of its own, with
// its own admin endpoint and storage directory; it is stopped when the
// test ends.
func startCaddy(t *testing.T, site string, env ...string) *caddyProc {
	t.Helper()
	p := &caddyProc{t: t, bin: buildCaddy(t), dir: t.TempDir(), env: env, httpPort: freePort(), adminPort: freePort()}
	p.base = fmt.Sprintf("http://127.0.0.1:%d", p.httpPort)
	p.adminURL = fmt.Sprintf("http://127.0.0.1:%d", p.adminPort)
	p.config = filepath.Join(p.dir, "Caddyfile")
	cfg := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	storage file_system %s
	auto_https off
	skip_install_trust
	grace_period 1s
}
:%d {
%s
}
`, p.adminPort, filepath.Join(p.dir, "storage"), p.httpPort, site)
	if err := os.WriteFile(p.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *caddyProc) start() {
	p.t.Helper()
	p.out = new(bytes.Buffer)
	p.cmd = exec.Command(p.bin, "run", "--config", p.config, "--adapter", "caddyfile")
	p.cmd.Dir = p.dir
	p.cmd.Env = append(os.Environ(), "HOME="+p.dir, "XDG_DATA_HOME="+filepath.Join(p.dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(p.dir, "config"))
	p.cmd.Env = append(p.cmd.Env, p.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.adminURL + "/config/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-p.exited:
			p.t.Fatalf("caddy exited at start:\n%s", p.out)
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("caddy did not start:\n%s", p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the process as `caddy stop` or a service manager would
// (SIGTERM: the config unloads cleanly), and waits for it.
func (p *caddyProc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// restart stops the process and starts it again on the same config.
func (p *caddyProc) restart() {
	p.t.Helper()
	p.stop()
	p.start()
}
