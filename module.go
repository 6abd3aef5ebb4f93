// Package llmrouter is the `llm_router` Caddy HTTP handler: one
// OpenAI-compatible API in front of many LLM providers, with weighted load
// balancing, retries, fallbacks, a circuit breaker, translation of each
// provider's wire format and Server-Sent Events flushed chunk by chunk.
package llmrouter

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/llmrouter/caddy-llm-router/apis"
	openaiapi "github.com/llmrouter/caddy-llm-router/apis/openai"
	"github.com/llmrouter/caddy-llm-router/keys"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/redact"
	"github.com/llmrouter/caddy-llm-router/routing"
	"github.com/llmrouter/caddy-llm-router/stores"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Defaults of the handler's settings.
const (
	defaultRetries        = 2
	defaultBackoffBase    = 200 * time.Millisecond
	defaultBackoffMax     = 5 * time.Second
	defaultCooldownN      = 3
	defaultCooldownD      = 30 * time.Second
	defaultTimeout        = 10 * time.Minute
	defaultMaxRequestBody = 32 << 20
	defaultIdleTimeout    = 5 * time.Minute
)

// defaultRetryOn is what `retry_on` means when unset.
var defaultRetryOn = []string{"429", "500", "502", "503", "504", "529", "timeout", "connect"}

// Handler is the `llm_router` HTTP handler: an LLM API gateway. It serves
// the inbound APIs clients speak — OpenAI chat completions, completions and
// embeddings (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`),
// Anthropic Messages (`/v1/messages`, `/v1/messages/count_tokens`), OpenAI
// Responses (`/v1/responses`), Gemini (`/v1beta/models/{model}:generateContent`
// and the other Gemini methods) and the models lists (`GET /v1/models`,
// `GET /v1beta/models`), each also without its version prefix where the
// SDKs send it so — and routes each request among its targets with retries,
// fallbacks and a circuit breaker, passing it through to a target of the
// same wire format or translating it.
//
// It sets these placeholders for other directives (`log_append`, `header`,
// …): `{http.llm_router.target}` (the target that answered),
// `{http.llm_router.model}` (the upstream model) and
// `{http.llm_router.attempts}` before the response header is written;
// `{http.llm_router.prompt_tokens}`, `{http.llm_router.completion_tokens}`,
// `{http.llm_router.cached_tokens}`, `{http.llm_router.reasoning_tokens}`
// and `{http.llm_router.cost}` (USD, when a price matches) before it
// returns; with a cache, `{http.llm_router.cache}` (hit or miss) too.
type Handler struct {
	// Targets are the upstreams, in written order (the order of implicit
	// groups and of the models list).
	Targets []*Target `json:"targets,omitempty"`

	// Models are the virtual models (aliases), in written order.
	Models []*ModelAlias `json:"models,omitempty"`

	// StrategyRaw orders the members of implicit groups (targets matched by
	// their `models` patterns), a module in the
	// `http.llm_router.selection_policies` namespace. Default: weighted.
	StrategyRaw json.RawMessage `json:"strategy,omitempty" caddy:"namespace=http.llm_router.selection_policies inline_key=policy"`

	// Retries is the number of extra attempts on the same target after a
	// failure listed in RetryOn. Default: 2.
	Retries *int `json:"retries,omitempty"`

	// RetryBackoff is the pause between those attempts. Default: 200ms
	// base, 5s max.
	RetryBackoff *RetryBackoff `json:"retry_backoff,omitempty"`

	// RetryOn lists the failures retried on the same target: HTTP status
	// codes, `timeout` and `connect`. Default: 429 500 502 503 504 529
	// timeout connect.
	RetryOn []string `json:"retry_on,omitempty"`

	// Fallback lists what to try, in order, after every candidate failed:
	// alias names, target names (the request's model sent to them) or
	// `target/model`.
	Fallback []string `json:"fallback,omitempty"`

	// Cooldown is the circuit breaker. Default: 3 failures, 30s.
	Cooldown *Cooldown `json:"cooldown,omitempty"`

	// MaxRequestBody is the largest accepted request body in bytes; a
	// larger one gets 413. Default: 32 MiB.
	MaxRequestBody int64 `json:"max_request_body,omitempty"`

	// Keys are the router keys (SPEC 8): with any, every request needs
	// one, presented as its API's SDK sends it, and is held to the key's
	// models, targets, rpm, tpm and budgets.
	Keys []keys.KeyConfig `json:"keys,omitempty"`

	// StoreRaw is where the keys' counters and spend live, a module in the
	// `http.llm_router.stores` namespace (`memory`, `redis`). Default:
	// memory.
	StoreRaw json.RawMessage `json:"store,omitempty" caddy:"namespace=http.llm_router.stores inline_key=store"`

	// UsageCost adds `"cost": <usd>` (and, for a keyed request with a
	// budget, `"budget_remaining"`) to the usage of every answer.
	UsageCost bool `json:"usage_cost,omitempty"`

	// Passthrough names a target to which every path the router does not
	// serve itself (files, batches, assistants, vector stores,
	// `GET /v1/responses/{id}`, …) is proxied unchanged, with that target's
	// key. Without it such paths get 404.
	Passthrough string `json:"passthrough,omitempty"`

	// MaxResponseBody is the largest upstream answer, or single event of
	// an upstream stream, in bytes; a larger one fails the attempt (502,
	// or an error event after the first byte). Default: 64 MiB.
	MaxResponseBody int64 `json:"max_response_body,omitempty"`

	// Cache is the response cache (SPEC 12): identical requests within its
	// TTL are answered from it. Default: none.
	Cache *CacheConfig `json:"cache,omitempty"`

	logger          *zap.Logger
	targets         map[string]*Target
	aliases         map[string]*ModelAlias
	policy          routing.Policy
	retries         int
	backoffBase     time.Duration
	backoffMax      time.Duration
	retryStatus     map[int]bool
	retryTimeout    bool
	retryConnect    bool
	cooldownN       int
	cooldownD       time.Duration
	maxRequestBody  int64
	maxResponseBody int64
	fallbacks       []fallbackEntry
	created         int64 // the models list's `created`: when the config loaded
	transport       *http.Transport
	acquired        []string         // state keys to release in Cleanup
	implicit        *groupCache      // groups of rule 4 by model, see resolve
	apis            []apis.API       // the inbound APIs, in match order
	scrubber        *redact.Scrubber // every secret of the config, see scrub
	secrets         []string
	proxy           *httputil.ReverseProxy // the passthrough target's, or nil
	keysConfigured  bool                   // router keys exist: client keys are never forwarded
	keySet          *keys.Set
	store           stores.Store
	storeName       string
	keyReg          *keys.Registration
	reserveTTL      time.Duration
	discovering     bool                         // some target has `discover`, see listVersion
	modelList       *atomic.Pointer[modelsCache] // GET /v1/models, see listModels
	cache           *responseCache               // nil without a cache
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.llm_router",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision loads the provider and strategy modules, expands placeholders in
// secrets, fills defaults and attaches each target to its shared state.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.provisionDefaults()
	if err := h.provisionRetryOn(); err != nil {
		return err
	}
	repl := caddy.NewReplacer()
	h.implicit = new(groupCache)
	h.modelList = new(atomic.Pointer[modelsCache])
	h.targets = make(map[string]*Target, len(h.Targets))
	for i, t := range h.Targets {
		if t == nil || t.Name == "" {
			return fmt.Errorf("target %d: a name is required", i)
		}
		if _, dup := h.targets[t.Name]; dup {
			return fmt.Errorf("target %q: defined twice", t.Name)
		}
		if err := h.provisionTarget(ctx, t, repl); err != nil {
			return fmt.Errorf("target %q: %v", t.Name, err)
		}
		h.targets[t.Name] = t
	}
	var err error
	if h.policy, err = loadPolicy(ctx, h, "StrategyRaw", h.StrategyRaw); err != nil {
		return fmt.Errorf("strategy: %v", err)
	}
	h.aliases = make(map[string]*ModelAlias, len(h.Models))
	for _, a := range h.Models {
		if err := h.provisionAlias(ctx, a); err != nil {
			return err
		}
	}
	if err := h.provisionFallbacks(); err != nil {
		return err
	}
	h.provisionScrubber()
	// The router's own log lines can never print a secret.
	h.logger = h.logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return redact.Core(c, h.scrubber) }))
	h.created = time.Now().Unix()
	h.transport = newTransport()
	if h.apis, err = loadAPIs(ctx); err != nil {
		return err
	}
	if err := h.provisionKeys(ctx); err != nil {
		return fmt.Errorf("keys: %v", err)
	}
	if err := h.provisionPassthrough(); err != nil {
		return err
	}
	if err := h.provisionCache(); err != nil {
		return err
	}
	if err := initMetrics(ctx.GetMetricsRegistry()); err != nil {
		return err
	}
	return h.provisionDiscovery()
}

// apiOrder is the order in which the built-in inbound APIs match paths;
// APIs added by other modules come after them, by name.
var apiOrder = []string{"openai", "anthropic", "responses", "gemini"}

// loadAPIs loads every module of the `http.llm_router.apis` namespace.
func loadAPIs(ctx caddy.Context) ([]apis.API, error) {
	mods := caddy.GetModules("http.llm_router.apis")
	rank := func(name string) int {
		for i, n := range apiOrder {
			if n == name {
				return i
			}
		}
		return len(apiOrder)
	}
	slices.SortStableFunc(mods, func(a, b caddy.ModuleInfo) int {
		return cmp.Or(cmp.Compare(rank(a.ID.Name()), rank(b.ID.Name())), cmp.Compare(a.ID.Name(), b.ID.Name()))
	})
	out := make([]apis.API, 0, len(mods))
	for _, info := range mods {
		mod, err := ctx.LoadModuleByID(string(info.ID), json.RawMessage("{}"))
		if err != nil {
			return nil, fmt.Errorf("inbound API %s: %v", info.ID.Name(), err)
		}
		api, ok := mod.(apis.API)
		if !ok {
			return nil, fmt.Errorf("module %s is not an inbound API", info.ID)
		}
		out = append(out, api)
	}
	return out, nil
}

func (h *Handler) provisionDefaults() {
	h.retries = defaultRetries
	if h.Retries != nil {
		h.retries = *h.Retries
	}
	h.backoffBase, h.backoffMax = defaultBackoffBase, defaultBackoffMax
	if b := h.RetryBackoff; b != nil {
		if b.Base > 0 {
			h.backoffBase = time.Duration(b.Base)
		}
		if b.Max > 0 {
			h.backoffMax = time.Duration(b.Max)
		}
	}
	h.cooldownN, h.cooldownD = defaultCooldownN, defaultCooldownD
	if c := h.Cooldown; c != nil {
		if c.Failures != nil {
			h.cooldownN = *c.Failures
		}
		if c.Duration > 0 {
			h.cooldownD = time.Duration(c.Duration)
		}
	}
	h.maxRequestBody = defaultMaxRequestBody
	if h.MaxRequestBody > 0 {
		h.maxRequestBody = h.MaxRequestBody
	}
	h.maxResponseBody = llm.DefaultMaxResponseBody
	if h.MaxResponseBody > 0 {
		h.maxResponseBody = h.MaxResponseBody
	}
}

func (h *Handler) provisionRetryOn() error {
	list := h.RetryOn
	if len(list) == 0 {
		list = defaultRetryOn
	}
	h.retryStatus = make(map[int]bool, len(list))
	for _, v := range list {
		switch v {
		case "timeout":
			h.retryTimeout = true
		case "connect":
			h.retryConnect = true
		default:
			code, err := parseStatus(v)
			if err != nil {
				return fmt.Errorf("retry_on: %v", err)
			}
			h.retryStatus[code] = true
		}
	}
	return nil
}

func (h *Handler) provisionTarget(ctx caddy.Context, t *Target, repl *caddy.Replacer) error {
	var mod any
	var err error
	if t.ProviderRaw == nil {
		mod, err = ctx.LoadModuleByID("http.llm_router.providers.openai", json.RawMessage("{}"))
	} else {
		mod, err = ctx.LoadModule(t, "ProviderRaw")
	}
	if err != nil {
		return fmt.Errorf("loading provider: %v", err)
	}
	t.provider = mod.(providers.Provider)
	if mi, ok := mod.(caddy.Module); ok {
		t.providerName = providerSemconv(mi.CaddyModule().ID.Name())
	}
	t.sender, _ = mod.(providers.Sender)
	t.checker, _ = mod.(providers.Checker)
	t.native, _ = mod.(providers.Native)

	t.upstream = llm.Upstream{
		Name:       t.Name,
		BaseURL:    strings.TrimRight(repl.ReplaceAll(t.BaseURL, ""), "/"),
		APIKey:     repl.ReplaceAll(t.APIKey, ""),
		APIVersion: repl.ReplaceAll(t.APIVersion, ""),
	}
	if len(t.Headers) > 0 {
		t.upstream.Header = make(http.Header, len(t.Headers))
		for k, vals := range t.Headers {
			for _, v := range vals {
				t.upstream.Header.Add(k, repl.ReplaceAll(v, ""))
			}
		}
	}
	if c, ok := mod.(providers.Configurer); ok {
		if err := c.ConfigureUpstream(&t.upstream); err != nil {
			return err
		}
	}
	if t.sender == nil {
		if err := checkBaseURL(t.upstream.BaseURL); err != nil {
			return err
		}
	}

	t.weight = 1
	if t.Weight != nil {
		if *t.Weight < 0 {
			return fmt.Errorf("weight must not be negative")
		}
		t.weight = *t.Weight
	}
	t.timeout = t.Timeout
	if t.timeout <= 0 {
		t.timeout = caddy.Duration(defaultTimeout)
	}
	t.idleTimeout = t.IdleTimeout
	if t.idleTimeout <= 0 {
		t.idleTimeout = caddy.Duration(defaultIdleTimeout)
	}
	if t.MaxInFlight < 0 {
		return fmt.Errorf("max_in_flight must not be negative")
	}
	for _, p := range t.Models {
		t.patterns = append(t.patterns, compileGlob(p))
		if !isGlob(p) {
			t.exact = append(t.exact, p)
		}
	}
	if len(t.ModelMap) > 0 {
		t.modelMap = make(map[string]string, len(t.ModelMap))
		for _, m := range t.ModelMap {
			if m.From == "" || m.To == "" {
				return fmt.Errorf("model_map: both names are required")
			}
			if _, dup := t.modelMap[m.From]; !dup {
				t.modelMap[m.From] = m.To
			}
		}
	}
	for _, p := range t.Prices {
		cp := compiledPrice{pattern: compileGlob(p.Pattern), Price: llm.Price{Input: p.Input, Output: p.Output, CacheRead: p.Input, CacheWrite: p.Input}}
		if p.CacheRead != nil {
			cp.CacheRead = *p.CacheRead
		}
		if p.CacheWrite != nil {
			cp.CacheWrite = *p.CacheWrite
		}
		if cp.Input < 0 || cp.Output < 0 || cp.CacheRead < 0 || cp.CacheWrite < 0 {
			return fmt.Errorf("price %q: prices must not be negative", p.Pattern)
		}
		t.prices = append(t.prices, cp)
	}
	t.stateKey = routing.StateKey(t.Name, t.upstream.BaseURL)
	t.state = routing.AcquireState(t.stateKey)
	h.acquired = append(h.acquired, t.stateKey)
	return nil
}

func checkBaseURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("base_url is required for this provider")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("base_url %q: must be an http:// or https:// URL", raw)
	}
	return nil
}

func loadPolicy(ctx caddy.Context, structPtr any, field string, raw json.RawMessage) (routing.Policy, error) {
	if raw == nil {
		return routing.Weighted{}, nil
	}
	mod, err := ctx.LoadModule(structPtr, field)
	if err != nil {
		return nil, err
	}
	return mod.(routing.Policy), nil
}

func (h *Handler) provisionAlias(ctx caddy.Context, a *ModelAlias) error {
	if a == nil || a.Name == "" {
		return fmt.Errorf("model: a name is required")
	}
	if _, dup := h.aliases[a.Name]; dup {
		return fmt.Errorf("model %q: defined twice", a.Name)
	}
	if len(a.To) == 0 {
		return fmt.Errorf("model %q: needs at least one `to`", a.Name)
	}
	var err error
	if a.policy, err = loadPolicy(ctx, a, "StrategyRaw", a.StrategyRaw); err != nil {
		return fmt.Errorf("model %q: strategy: %v", a.Name, err)
	}
	g := &group{policy: a.policy}
	for _, m := range a.To {
		t, ok := h.targets[m.Target]
		if !ok {
			return fmt.Errorf("model %q: `to` names no target: %q", a.Name, m.Target)
		}
		weight := t.weight
		if m.Weight != nil {
			if *m.Weight < 0 {
				return fmt.Errorf("model %q: weight must not be negative", a.Name)
			}
			weight = *m.Weight
		}
		model := m.Model
		if model == "" {
			model = a.Name
		}
		for _, c := range m.When {
			if err := c.check(); err != nil {
				return fmt.Errorf("model %q: to %s: when: %v", a.Name, m.Target, err)
			}
		}
		nm := newMember(t, model, weight)
		nm.when = m.When
		g.conditional = g.conditional || len(m.When) > 0
		g.members = append(g.members, nm)
	}
	a.group = g
	h.aliases[a.Name] = a
	return nil
}

// Validate checks the provisioned configuration.
func (h *Handler) Validate() error {
	if len(h.Targets) == 0 {
		return fmt.Errorf("at least one target is required")
	}
	if h.retries < 0 {
		return fmt.Errorf("retries must not be negative")
	}
	if h.backoffBase > h.backoffMax {
		return fmt.Errorf("retry_backoff: base %s is above max %s", h.backoffBase, h.backoffMax)
	}
	if h.cooldownN < 0 {
		return fmt.Errorf("cooldown: failures must not be negative")
	}
	if err := keys.Validate(h.Keys); err != nil {
		return err
	}
	return nil
}

// Cleanup releases this config's references to the shared target states
// and discovery sources (once per acquisition, also after a Provision that
// failed halfway) and the idle upstream connections.
func (h *Handler) Cleanup() error {
	h.cache.close()
	h.cache = nil
	h.keyReg.Unregister()
	h.keyReg = nil
	for _, key := range h.acquired {
		routing.ReleaseState(key)
	}
	h.acquired = nil
	h.cleanupDiscovery()
	if h.transport != nil {
		h.transport.CloseIdleConnections()
	}
	return nil
}

// newTransport is the HTTP transport of one handler's upstream requests. It
// has no overall timeout (streams may run long): attempts carry their own
// deadlines in their contexts.
func newTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 0,
		ReadBufferSize:        16 << 10,
		WriteBufferSize:       16 << 10,
	}
}

// ServeHTTP answers the inbound APIs. Every answer the router makes itself
// is written here (never returned as a Caddy error) so that it keeps the
// shape of the client's API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	path := r.URL.Path
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if h.serveModels(w, r) {
			return nil
		}
	}
	for _, api := range h.apis {
		rt, ok := api.Match(path)
		if !ok {
			continue
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			api.WriteError(w, errMethod(r.Method, path))
			return nil
		}
		h.serveAPI(w, r, api, rt)
		return nil
	}
	if h.proxy != nil {
		h.servePassthrough(w, r)
		return nil
	}
	if isModelsPath(path) {
		w.Header().Set("Allow", "GET, HEAD")
		openaiapi.WriteError(w, errMethod(r.Method, path))
		return nil
	}
	openaiapi.WriteError(w, errNotFound(path))
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
