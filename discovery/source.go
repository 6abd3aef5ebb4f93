package discovery

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// Defaults and bounds of a Source.
const (
	// DefaultInterval is the refresh interval of `discover` without one.
	DefaultInterval = 10 * time.Minute
	// FetchTimeout bounds one fetch, every page included.
	FetchTimeout = time.Minute
	// logEvery is how often the same failure is logged again while it
	// lasts; a different failure, or a recovery, is logged at once.
	logEvery = time.Hour
)

// Config describes what a Source fetches.
type Config struct {
	// Target is the target's name, for logs and the dashboard.
	Target string
	// Interval is the time between two fetches. Default: DefaultInterval.
	Interval time.Duration
	// List fetches the upstream's whole list with client (the Source's
	// own). Its error must not hold a secret.
	List func(ctx context.Context, client *http.Client) ([]string, error)
	// Valid, when set, drops names it rejects (e.g. too long for a model
	// name).
	Valid func(name string) bool
	// Redact, when set, is applied to a fetch's error before it is logged
	// or reported, a last guard against a secret in it.
	Redact func(string) string
}

// Status is what a Source reports about its fetches.
type Status struct {
	// Target is the target's name.
	Target string
	// Models is how many models the last successful fetch found.
	Models int
	// LastFetch is when the last fetch (successful or not) ended; zero
	// before the first one.
	LastFetch time.Time
	// LastError is the last fetch's error, "" when it succeeded.
	LastError string
	// Failures counts the failed fetches since the last success.
	Failures int
}

// Source is one upstream's discovered list and the goroutine that keeps it
// fresh. Its methods are safe for concurrent use.
type Source struct {
	cfg    Config
	client *http.Client
	list   atomic.Pointer[List]
	logger atomic.Pointer[zap.Logger]

	mu         sync.Mutex
	status     Status
	loggedErr  string    // the failure last logged
	loggedAt   time.Time // when it was logged
	cancel     context.CancelFunc
	done       chan struct{}
	fetchCount atomic.Int64
}

// ticker is what the refresher waits on; tests drive their own.
type ticker interface {
	C() <-chan time.Time
	Stop()
}

type realTicker struct{ *time.Ticker }

func (t realTicker) C() <-chan time.Time { return t.Ticker.C }

// Hooks replaced by tests.
var (
	newTicker = func(d time.Duration) ticker { return realTicker{time.NewTicker(d)} }
	now       = time.Now
)

// newSource starts a Source's refresher: a first fetch at once, in the
// background, then one every interval.
func newSource(cfg Config, logger *zap.Logger) *Source {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	s := &Source{cfg: cfg, client: &http.Client{Transport: newTransport()}, done: make(chan struct{})}
	s.status.Target = cfg.Target
	s.logger.Store(logger)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	tick := newTicker(cfg.Interval)
	go s.run(ctx, tick)
	return s
}

// newTransport is a Source's own transport, closed with it.
func newTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

func (s *Source) run(ctx context.Context, tick ticker) {
	defer close(s.done)
	defer tick.Stop()
	for {
		s.fetch(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C():
		}
	}
}

// fetch runs one fetch and records its outcome; a fetch cut short by the
// Source's end records nothing.
func (s *Source) fetch(ctx context.Context) {
	s.fetchCount.Add(1)
	fctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	names, err := s.cfg.List(fctx, s.client)
	cancel()
	if ctx.Err() != nil {
		return
	}
	at := now()
	if err != nil {
		s.failed(err, at)
		return
	}
	l := NewList(names, s.cfg.Valid)
	old := s.list.Load()
	changed := old == nil || !old.equal(l)
	if changed {
		// The list is stored before the generation moves, so whoever
		// sees the new generation sees the new list.
		s.list.Store(l)
		generation.Add(1)
	}
	s.mu.Lock()
	recovered := s.status.LastError != ""
	s.status.Models, s.status.LastFetch, s.status.LastError, s.status.Failures = l.Len(), at, "", 0
	s.loggedErr = ""
	s.mu.Unlock()
	if recovered || changed {
		msg := "models discovered"
		if recovered {
			msg = "model discovery recovered"
		}
		s.logger.Load().Info(msg, zap.String("target", s.cfg.Target), zap.Int("models", l.Len()))
	}
}

func (s *Source) failed(err error, at time.Time) {
	msg := err.Error()
	if s.cfg.Redact != nil {
		msg = s.cfg.Redact(msg)
	}
	s.mu.Lock()
	s.status.LastFetch, s.status.LastError = at, msg
	s.status.Failures++
	failures := s.status.Failures
	log := msg != s.loggedErr || at.Sub(s.loggedAt) >= logEvery
	if log {
		s.loggedErr, s.loggedAt = msg, at
	}
	s.mu.Unlock()
	if log {
		s.logger.Load().Warn("model discovery failed; keeping the last list",
			zap.String("target", s.cfg.Target), zap.String("error", msg), zap.Int("failures", failures))
	}
}

// List is the last list fetched, nil before the first successful fetch.
func (s *Source) List() *List { return s.list.Load() }

// Status reports the fetches so far.
func (s *Source) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Fetches is the number of fetches started (for tests).
func (s *Source) Fetches() int64 { return s.fetchCount.Load() }

// setLogger makes the Source log to the newest config's logger.
func (s *Source) setLogger(l *zap.Logger) {
	if l != nil {
		s.logger.Store(l)
	}
}

// Destruct stops the refresher, cancelling a fetch in flight, and waits
// for it to end; it implements caddy.Destructor.
func (s *Source) Destruct() error {
	s.cancel()
	<-s.done
	s.client.CloseIdleConnections()
	return nil
}

// Interface guards
var _ caddy.Destructor = (*Source)(nil)
