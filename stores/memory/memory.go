// Package memory is the `memory` store of router keys
// (`http.llm_router.stores.memory`): counters in the process, shared by
// every llm_router of the process and kept across config reloads; spend
// persisted in Caddy's configured storage so that it survives a restart.
package memory

import (
	"context"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/certmagic"

	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/stores"
)

func init() {
	caddy.RegisterModule(Memory{})
}

// Memory keeps key counters in the process: one set of counters per key
// name for the whole process, whatever llm_router uses it, kept across
// config reloads. Spend is written to Caddy's configured `storage` (the
// file system by default) at least every 10 seconds and when the last
// config using the store unloads, and read back when the store starts, so
// at most 10 seconds of spend are lost on a crash. Reservations and the
// rate windows are not persisted. Each Caddy process has its own counters:
// share limits among instances with the redis store.
type Memory struct {
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time `json:"-"`

	storage certmagic.Storage // set by tests; else ctx.Storage()
	poolKey string            // set by tests to keep their counters apart
	key     string
	st      *state
}

// CaddyModule returns the Caddy module information.
func (Memory) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.stores.memory",
		New: func() caddy.Module { return new(Memory) },
	}
}

// UnmarshalCaddyfile reads `store memory`, which takes no options.
func (m *Memory) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the store's name
	if d.NextArg() {
		return d.Errf("store memory: unexpected argument %q", d.Val())
	}
	for d.NextBlock(0) {
		return d.Errf("store memory: unrecognized option %q", d.Val())
	}
	return nil
}

// Provision joins the process's counters, reading persisted spend when it
// is the first to use them.
func (m *Memory) Provision(ctx caddy.Context) error {
	if m.storage == nil {
		m.storage = storageOf(ctx)
	}
	m.key = "memory"
	if m.poolKey != "" {
		m.key += "/" + m.poolKey
	}
	v, _, err := pool.LoadOrNew(m.key, func() (caddy.Destructor, error) {
		return newState(m.storage, ctx.Logger(), m.Now)
	})
	if err != nil {
		return err
	}
	m.st = v.(*state)
	m.st.setStorage(m.storage)
	return nil
}

// storageOf returns the config's storage, or nil for a context made without
// a config (a handler's unit test): then spend is not persisted.
func storageOf(ctx caddy.Context) (st certmagic.Storage) {
	defer func() {
		if recover() != nil {
			st = nil
		}
	}()
	return ctx.Storage()
}

// Cleanup leaves the counters; the last config to leave writes the spend.
func (m *Memory) Cleanup() error {
	if m.st == nil {
		return nil
	}
	m.st = nil
	_, err := pool.Delete(m.key)
	return err
}

// Admit implements stores.Store.
func (m *Memory) Admit(_ context.Context, a stores.Admission) (*stores.Ticket, stores.Decision, error) {
	t, d := m.st.engine.Admit(&a)
	return t, d, nil
}

// Adjust implements stores.Store.
func (m *Memory) Adjust(_ context.Context, t *stores.Ticket, usd float64) (stores.Decision, error) {
	return m.st.engine.Adjust(t, usd), nil
}

// Settle implements stores.Store.
func (m *Memory) Settle(_ context.Context, t *stores.Ticket, tokens int64, usd float64) error {
	if !t.MarkSettled() {
		return stores.ErrSettled
	}
	m.st.engine.Settle(t, tokens, usd)
	return nil
}

// Status implements stores.Store.
func (m *Memory) Status(_ context.Context, l keys.Limits) (keys.Status, error) {
	return m.st.engine.Status(l), nil
}

// Interface guards
var (
	_ stores.Store          = (*Memory)(nil)
	_ caddy.Provisioner     = (*Memory)(nil)
	_ caddy.CleanerUpper    = (*Memory)(nil)
	_ caddyfile.Unmarshaler = (*Memory)(nil)
)
