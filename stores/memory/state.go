package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/llmrouter/caddy-llm-router/stores/internal/local"
)

// pool holds the process's counters across config reloads.
var pool = caddy.NewUsagePool()

// StorageKey is where the spend is persisted in Caddy's storage.
const StorageKey = "llm_router/spend.json"

// persistEvery is how often changed spend is written; a variable for tests.
var persistEvery = 10 * time.Second

// state is the pooled counters with the goroutine that persists them: one
// per process, so a reload never runs two.
type state struct {
	engine *local.Engine
	logger *zap.Logger

	mu      sync.Mutex
	storage certmagic.Storage

	stop chan struct{}
	done chan struct{}
}

type persisted struct {
	Version int           `json:"version"`
	Spend   []local.Spend `json:"spend"`
}

func newState(storage certmagic.Storage, logger *zap.Logger, now func() time.Time) (*state, error) {
	s := &state{engine: local.New(now), logger: logger, storage: storage,
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.load(); err != nil {
		return nil, err
	}
	go s.run()
	return s, nil
}

// setStorage follows the storage of the newest config.
func (s *state) setStorage(st certmagic.Storage) {
	s.mu.Lock()
	s.storage = st
	s.mu.Unlock()
}

func (s *state) load() error {
	if s.storage == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := s.storage.Load(ctx, StorageKey)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store memory: reading the spend from storage key %s: %v", StorageKey, err)
	}
	var p persisted
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("store memory: storage key %s is not the spend this store writes (%v); fix or delete it", StorageKey, err)
	}
	s.engine.Restore(p.Spend)
	return nil
}

func (s *state) run() {
	defer close(s.done)
	tick := time.NewTicker(persistEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.engine.Prune()
			if s.engine.Changed() {
				s.save()
			}
		}
	}
}

// save writes the spend; on failure it is tried again at the next tick.
func (s *state) save() {
	s.mu.Lock()
	st := s.storage
	s.mu.Unlock()
	if st == nil {
		return
	}
	b, err := json.Marshal(persisted{Version: 1, Spend: s.engine.Spends()})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = st.Store(ctx, StorageKey, b)
		cancel()
	}
	if err != nil {
		s.engine.MarkChanged()
		s.logger.Error("writing key spend to storage", zap.String("key", StorageKey), zap.Error(err))
	}
}

// Destruct stops the persisting goroutine and writes the spend a last time.
func (s *state) Destruct() error {
	close(s.stop)
	<-s.done
	s.save()
	return nil
}
