package llmrouter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/stats"
	"github.com/llmrouter/caddy-llm-router/stores"
)

// defaultOutputReserve is the output a reservation assumes when a request
// sets no max tokens (SPEC 8).
const defaultOutputReserve = 4096

// provisionKeys builds the key set and loads the store (memory by
// default), and registers them for the admin API and the dashboard.
func (h *Handler) provisionKeys(ctx caddy.Context) error {
	if len(h.Keys) == 0 {
		if h.StoreRaw != nil {
			return fmt.Errorf("store: configured without any key")
		}
		return nil
	}
	set, err := keys.NewSet(h.Keys)
	if err != nil {
		return err
	}
	var mod any
	if h.StoreRaw == nil {
		mod, err = ctx.LoadModuleByID("http.llm_router.stores.memory", json.RawMessage("{}"))
	} else {
		mod, err = ctx.LoadModule(h, "StoreRaw")
	}
	if err != nil {
		return fmt.Errorf("loading store: %v", err)
	}
	st, ok := mod.(stores.Store)
	if !ok {
		return fmt.Errorf("store: module %T is not a store", mod)
	}
	name := "memory"
	if m, ok := mod.(caddy.Module); ok {
		name = m.CaddyModule().ID.Name()
	}
	if n, ok := st.(stores.ErrorNotifier); ok {
		n.NotifyErrors(func(error) { recordStoreError(name) })
	}
	h.keySet, h.store, h.storeName = set, st, name
	h.keysConfigured = true
	h.keyReg = keys.Register(set, st)
	// The longest a request may hold a reservation: every attempt of
	// every candidate at its timeout is far beyond what happens; an hour
	// or twice the longest timeout, whichever is more.
	h.reserveTTL = stores.DefaultTTL
	for _, t := range h.Targets {
		if d := 2 * time.Duration(t.timeout); d > h.reserveTTL {
			h.reserveTTL = d
		}
	}
	return nil
}

// authenticate finds the request's router key; ok is false (and the 401
// written in the API's shape) when keys are configured and the key is
// missing or unknown. It reads headers only: a wrong key costs no body
// read, no store write and no upstream call.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, writeError func(http.ResponseWriter, *llm.Error)) (*keys.Key, bool) {
	if h.keySet == nil {
		return nil, true
	}
	k, ok := h.keySet.Authenticate(keys.FromRequest(r))
	if !ok {
		writeError(w, errInvalidKey())
		return nil, false
	}
	return k, true
}

func errInvalidKey() *llm.Error {
	return routerError(http.StatusUnauthorized, "invalid_api_key", "a valid router key is required (Authorization: Bearer, x-api-key, x-goog-api-key or ?key=)")
}

func errModelNotAllowed(key, model string) *llm.Error {
	e := routerError(http.StatusForbidden, "model_not_allowed", "key %q may not use model %q", key, model)
	e.Param = "model"
	return e
}

func errStoreUnavailable() *llm.Error {
	return routerError(http.StatusServiceUnavailable, "store_unavailable", "the limits store cannot be reached")
}

// refusal is the 429 of a store's Decision.
func refusal(d stores.Decision) *llm.Error {
	e := routerError(http.StatusTooManyRequests, d.Code, "%s", d.Message)
	e.RetryAfter = d.RetryAfter
	return e
}

// storeContext is the context of a store call: not the client's request,
// so that a cancelled request still settles. The stores bound their own
// round trips (the Redis store's by its client timeouts), and the memory
// store needs no deadline, so none is set here (a deadline costs a timer
// per call on the keyed hot path).
func storeContext() (context.Context, context.CancelFunc) {
	return context.Background(), noCancel
}

func noCancel() {}

// worstCost is what an attempt on m may cost at most: the estimated
// prompt at the dearest of the input prices and the request's max tokens
// (else 4096) at the output price. 0 for a target without a price.
func (x *exchange) worstCost(m member) float64 {
	p, ok := m.target.price(m.model)
	if !ok {
		return 0
	}
	in := max(p.Input, p.CacheRead, p.CacheWrite)
	out := x.req.MaxTokens
	if out <= 0 {
		out = defaultOutputReserve
	}
	return (float64(x.req.PromptTokens())*in + float64(out)*p.Output) / 1e6
}

// admit counts the request against its key before the attempt on m: the
// first time with Admit (rpm, tpm, the attempt's worst-case cost), later
// with Adjust when the attempt may cost more than is reserved. It reports
// false when the attempt must not be made; x.keyErr then says why.
func (x *exchange) admit(m member) bool {
	if x.key == nil {
		return true
	}
	worst := x.worstCost(m)
	ctx, cancel := storeContext()
	defer cancel()
	if x.ticket == nil {
		t, d, err := x.h.store.Admit(ctx, stores.Admission{
			Key: x.key.Limits, Tokens: x.req.PromptTokens(), Reserve: worst, TTL: x.h.reserveTTL,
		})
		if err != nil {
			x.keyErr = errStoreUnavailable()
			return false
		}
		x.decision = d
		if !d.OK {
			x.keyErr = refusal(d)
			return false
		}
		x.ticket = t
		return true
	}
	need := x.spent + worst
	if keys.ToNano(need) <= x.ticket.Reserved {
		return true
	}
	d, err := x.h.store.Adjust(ctx, x.ticket, need)
	if err != nil {
		x.keyErr = errStoreUnavailable()
		return false
	}
	if !d.OK {
		// This attempt would not fit; a cheaper candidate still may.
		x.budgetRefused = refusal(d)
		return false
	}
	x.decision = d
	return true
}

// settle ends the request's ticket with its real tokens and cost.
func (x *exchange) settle(cost float64) {
	if x.ticket == nil {
		return
	}
	ctx, cancel := storeContext()
	defer cancel()
	_ = x.h.store.Settle(ctx, x.ticket, x.usage.Total(), cost)
}

// setKeyHeaders adds the x-ratelimit-* and X-LLM-Budget-Remaining headers
// of the key's latest decision.
func (x *exchange) setKeyHeaders(h http.Header) {
	if x.key != nil && (x.ticket != nil || !x.decision.OK && x.decision.Code != "") {
		x.decision.SetHeaders(h)
	}
}

// allowedModels filters a models list by what key may use.
func (h *Handler) allowedModels(k *keys.Key, list []apis.Model) []apis.Model {
	if k == nil {
		return list
	}
	out := list[:0:0]
	for _, m := range list {
		if h.keyMayUse(k, m.ID) {
			out = append(out, m)
		}
	}
	return out
}

// keyMayUse reports whether the key may ask for model and reach at least
// one target that serves it.
func (h *Handler) keyMayUse(k *keys.Key, model string) bool {
	if !k.AllowsModel(model) {
		return false
	}
	g, e := h.resolveModel(model)
	if e != nil {
		return false
	}
	for _, m := range g.members {
		if k.AllowsTarget(m.target.Name) {
			return true
		}
	}
	return false
}

func init() {
	// The dashboard's key section: every registered key name, with its
	// store's status.
	stats.SetKeyReporter(func(ctx context.Context) []stats.KeyStatus {
		reports := keys.Report(ctx)
		out := make([]stats.KeyStatus, len(reports))
		for i, r := range reports {
			ks := stats.KeyStatus{Name: r.Name, RPM: r.RPM, TPM: r.TPM, RequestsThisMinute: r.Requests, TokensThisMinute: r.Tokens}
			for _, b := range r.Budgets {
				ks.Budgets = append(ks.Budgets, stats.BudgetStatus{Period: string(b.Period), Limit: b.USD, Spend: b.Spend, Reserved: b.Reserved, Remaining: b.Remaining})
			}
			out[i] = ks
		}
		return out
	})
}
