package redistest

import (
	"strings"
	"testing"
)

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if err := ping(s.Addr); err != nil || !s.Running() || s.URL != "redis://"+s.Addr {
		t.Fatalf("started: %v %v %s", err, s.Running(), s.URL)
	}
	s.Stop()
	if err := ping(s.Addr); err == nil || s.Running() {
		t.Fatal("answers after Stop")
	}
	addr := s.Addr
	s.Restart()
	if err := ping(s.Addr); err != nil || s.Addr != addr {
		t.Fatalf("restarted: %v on %s, want %s", err, s.Addr, addr)
	}
	s.Stop()
	s.Stop() // twice is fine
}

func TestBinaryMissing(t *testing.T) {
	t.Setenv("REDIS_SERVER", "/nonexistent/redis-server")
	_, err := Binary()
	if err == nil || !strings.Contains(err.Error(), "redis-server not found: apt-get install -y redis-server (or make test)") {
		t.Fatalf("%v", err)
	}
	t.Setenv("REDIS_SERVER", "")
	t.Setenv("PATH", t.TempDir())
	if _, err := Binary(); err == nil || err.Error() != Missing {
		t.Fatalf("%v", err)
	}
}
