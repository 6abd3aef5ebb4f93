// Package redistest starts a real redis-server for tests: on a free
// 127.0.0.1 port, in a temporary directory, stopped when the test ends.
// A missing redis-server fails the test (never skips it).
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Missing is the failure when no redis-server can be found.
const Missing = "redis-server not found: apt-get install -y redis-server (or make test)"

// Server is one redis-server process.
type Server struct {
	// Addr is host:port.
	Addr string
	// URL is redis://Addr.
	URL string

	t    testing.TB
	bin  string
	dir  string
	port int

	mu     sync.Mutex
	proc   *os.Process
	exited chan struct{}
}

// Binary returns the redis-server to run: $REDIS_SERVER, else the one on
// PATH.
func Binary() (string, error) {
	if b := os.Getenv("REDIS_SERVER"); b != "" {
		if _, err := os.Stat(b); err != nil {
			return "", fmt.Errorf("%s ($REDIS_SERVER=%s: %v)", Missing, b, err)
		}
		return b, nil
	}
	b, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("%s", Missing)
	}
	return b, nil
}

// Start starts a redis-server for the test, stopped at its end.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	var last error
	for range 5 { // another process may take the free port first
		s.port, err = freePort()
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		if last = s.start(); last == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("starting redis-server: %v", last)
	return nil
}

// Stop kills the server at once (SIGKILL, as a crash would) and waits for
// it to exit. Data not persisted is lost. Stopping a stopped server does
// nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	_ = s.proc.Kill()
	<-s.exited
	s.proc = nil
}

// Restart starts the server again on the same port (after Stop), with an
// empty data set.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.start()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("restarting redis-server on port %d: %v", s.port, err)
		}
		time.Sleep(50 * time.Millisecond) // the port may still be held by the old process's sockets
	}
}

// Running reports whether the server was started and not stopped.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Addr = "127.0.0.1:" + strconv.Itoa(s.port)
	s.URL = "redis://" + s.Addr
	logFile := filepath.Join(s.dir, "redis.log")
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no",
		"--logfile", logFile)
	cmd.Dir = s.dir
	// Die with the test binary, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	deadline := time.After(10 * time.Second)
	for {
		if ping(s.Addr) == nil {
			s.proc, s.exited = cmd.Process, exited
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited: %s", tail(logFile))
		case <-deadline:
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server did not answer PING within 10s: %s", tail(logFile))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// tail returns the end of a log file.
func tail(name string) string {
	b, _ := os.ReadFile(name)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// ping sends PING and expects PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
