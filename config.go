package llmrouter

import (
	"encoding/json"
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmrouter/caddy-llm-router/discovery"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/routing"
)

// Target is one upstream: a provider endpoint with its credentials, the
// models it serves and how requests to it behave.
type Target struct {
	// Name identifies the target in `model` aliases, `fallback` lists, the
	// `X-LLM-Target` header, `<target>/<model>` model names, logs and
	// metrics. Required and unique.
	Name string `json:"name"`

	// ProviderRaw is the wire format of the upstream, a module in the
	// `http.llm_router.providers` namespace named by its `provider` key
	// (`openai`, `azure`, `anthropic`, `gemini`, `mock`, …). Default:
	// `{"provider":"openai"}`, any OpenAI-compatible API.
	ProviderRaw json.RawMessage `json:"provider,omitempty" caddy:"namespace=http.llm_router.providers inline_key=provider"`

	// BaseURL is the upstream endpoint. Default: the provider's public
	// endpoint (required for `azure`). Placeholders are expanded.
	BaseURL string `json:"base_url,omitempty"`

	// APIKey is the upstream credential, sent in the provider's own auth
	// header. Placeholders such as `{env.OPENAI_API_KEY}` are expanded at
	// provision, so the secret itself need not appear in the config. When
	// empty, the client's bearer key is forwarded (bring your own key)
	// unless router keys are configured.
	APIKey string `json:"api_key,omitempty"`

	// APIVersion is the provider's version setting: azure's `api-version`
	// (default 2024-10-21), `anthropic-version` (default 2023-06-01),
	// gemini's path version (default v1beta).
	APIVersion string `json:"api_version,omitempty"`

	// Models are the model names this target serves, `*` matching any run
	// of characters (e.g. `gpt-4o*`). None means any model. Non-glob
	// entries are listed by `GET /v1/models`.
	Models []string `json:"models,omitempty"`

	// ModelMap renames client models to upstream models for this target;
	// it applies last, after aliases and `<target>/<model>` resolution. Its
	// client names count as models the target serves.
	ModelMap []ModelMapping `json:"model_map,omitempty"`

	// Weight is the target's share of traffic among the members of an
	// implicit group, and the default weight of its `to` lines. 0 means
	// fallback only. Default: 1.
	Weight *int `json:"weight,omitempty"`

	// Timeout bounds one attempt, whole response included (streams too).
	// Default: 10m.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// FirstByteTimeout bounds a streamed attempt until its first event
	// reaches the client; a stream that stays silent longer is retried or
	// falls back. Default: off.
	FirstByteTimeout caddy.Duration `json:"first_byte_timeout,omitempty"`

	// IdleTimeout bounds the pause between two events of a streamed
	// attempt; a stream that stays silent longer fails (an error event
	// when the client already has the first bytes). Default: 5m.
	IdleTimeout caddy.Duration `json:"idle_timeout,omitempty"`

	// Headers are extra request headers sent upstream on every request.
	// Placeholders in values are expanded at provision.
	Headers http.Header `json:"headers,omitempty"`

	// Prices give the cost of the target's models, in USD per million
	// input, output, cache-read and cache-write tokens; the first whose
	// pattern matches the upstream model applies.
	Prices []Price `json:"prices,omitempty"`

	// MaxInFlight caps the requests in flight to this target at once; a
	// target at its cap is skipped like a failed one, without counting as
	// a failure. Default: 0, no cap.
	MaxInFlight int `json:"max_in_flight,omitempty"`

	// Discover, when present, makes the router fetch the target's own
	// model list from its upstream (the provider's list endpoint, with the
	// target's key, version and headers) at provision, in the background,
	// and then every interval (SPEC 11). Discovered models count as models
	// the target serves and are listed by `GET /v1/models` after the
	// written ones; `models` patterns, when given, filter them. `{}` turns
	// it on with the default interval. Default: absent, nothing fetched.
	Discover *Discover `json:"discover,omitempty"`

	provider providers.Provider
	// providerName is the provider as OpenTelemetry's gen_ai.provider.name
	// calls it.
	providerName string
	native       providers.Native  // non-nil for providers that pass another API through
	sender       providers.Sender  // non-nil for providers that answer in-process
	checker      providers.Checker // non-nil for providers with limits
	upstream     llm.Upstream
	stateKey     string
	state        *routing.State
	patterns     []pattern
	exact        []string // non-glob model names, for the models list
	modelMap     map[string]string
	prices       []compiledPrice
	weight       int
	timeout      caddy.Duration
	// idleTimeout is IdleTimeout with its default.
	idleTimeout caddy.Duration
	// source is the target's shared discovered list (nil without
	// Discover); discoveryKey is its key in the discovery pool.
	source       *discovery.Source
	discoveryKey string
}

// Discover are the settings of a target's model discovery.
type Discover struct {
	// Interval is the time between two fetches of the list. Default: 10m.
	Interval caddy.Duration `json:"interval,omitempty"`
}

// ModelMapping renames one client model to an upstream model.
type ModelMapping struct {
	// From is the model name the client sends.
	From string `json:"from"`
	// To is the model name sent upstream.
	To string `json:"to"`
}

// Price is the cost of the models matching Pattern.
type Price struct {
	// Pattern matches upstream model names, `*` globs allowed.
	Pattern string `json:"pattern"`
	// Input is USD per million prompt tokens.
	Input float64 `json:"input"`
	// Output is USD per million completion tokens (reasoning included).
	Output float64 `json:"output"`
	// CacheRead is USD per million prompt tokens read from the provider's
	// cache. Default: Input.
	CacheRead *float64 `json:"cache_read,omitempty"`
	// CacheWrite is USD per million prompt tokens written to the
	// provider's cache. Default: Input.
	CacheWrite *float64 `json:"cache_write,omitempty"`
}

type compiledPrice struct {
	pattern pattern
	llm.Price
}

// ModelAlias is a virtual model: clients ask for Name and the router picks
// among its members.
type ModelAlias struct {
	// Name is the model name clients send.
	Name string `json:"name"`

	// StrategyRaw orders the members, a module in the
	// `http.llm_router.selection_policies` namespace named by its `policy`
	// key: weighted, fallback, latency, least_busy, cost or sticky.
	// Default: weighted.
	StrategyRaw json.RawMessage `json:"strategy,omitempty" caddy:"namespace=http.llm_router.selection_policies inline_key=policy"`

	// To are the members, in priority order.
	To []Member `json:"to,omitempty"`

	policy routing.Policy
	group  *group
}

// Member is one target (and upstream model) of a model alias.
type Member struct {
	// Target names a configured target.
	Target string `json:"target"`
	// Model is the upstream model to request. Default: the alias name.
	// The target's model_map still applies.
	Model string `json:"model,omitempty"`
	// Weight is the member's weight. Default: the target's weight.
	Weight *int `json:"weight,omitempty"`
	// When are conditions that must all hold for the member to be a
	// candidate of a request (routing by content). None: always.
	When []Condition `json:"when,omitempty"`
}

// RetryBackoff is the pause between retries on the same target:
// min(Max, Base·2^n) with full jitter.
type RetryBackoff struct {
	// Base is the first pause's upper bound. Default: 200ms.
	Base caddy.Duration `json:"base,omitempty"`
	// Max caps every pause, and is the longest upstream Retry-After the
	// router waits for; a longer one puts the target in cooldown for that
	// long instead. Default: 5s.
	Max caddy.Duration `json:"max,omitempty"`
}

// Cooldown is the circuit breaker: a target whose last Failures attempts
// failed is skipped for Duration (tried anyway when nothing else is left);
// one success resets it.
type Cooldown struct {
	// Failures is the number of consecutive failed attempts that trip the
	// breaker; 0 disables it. Default (when absent): 3.
	Failures *int `json:"failures,omitempty"`
	// Duration is how long a tripped target is skipped. Default: 30s.
	Duration caddy.Duration `json:"duration,omitempty"`
}
