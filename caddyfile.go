package llmrouter

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
	"github.com/llmrouter/caddy-llm-router/keys"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_router", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("llm_router", httpcaddyfile.Before, "reverse_proxy")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	llm_router [<matcher>] {
//		target <name> {
//			provider      openai|azure|anthropic|gemini|mock|<module>
//			base_url      <url>
//			api_key       <key>
//			api_version   <version>
//			models        <pattern...>
//			model_map     <client-model> <upstream-model>
//			weight        <n>
//			timeout       <duration>
//			first_byte_timeout <duration>
//			idle_timeout  <duration>
//			header        <field> <value>
//			price         <model-pattern> <usd-per-1M-input> <usd-per-1M-output> [cache_read <usd>] [cache_write <usd>]
//			max_in_flight <n>
//			discover      [<interval>]
//			# and the provider's own options, in its block
//			# (provider mock { response <text> }) or flat, prefixed with its
//			# name (mock_response <text>, mock_tool_call <tool> <json>)
//		}
//		model <alias> {
//			strategy weighted|fallback|latency|least_busy|cost|sticky [{ <options> }]
//			to <target> [<upstream-model>] [weight <n>] [when <condition>...]
//		}
//		strategy         <name> [{ <options> }]
//		retries          <n>
//		retry_backoff    <base> <max>
//		retry_on         <code|timeout|connect...>
//		fallback         <alias-or-target...>
//		cooldown         <failures> <duration>
//		max_request_body <size>
//		max_response_body <size>
//		passthrough      <target>
//		usage_cost
//		key <secret> {
//			name    <label>
//			models  <pattern...>
//			targets <name...>
//			rpm     <n>
//			tpm     <n>
//			budget  <usd> daily|weekly|monthly|total
//		}
//		store memory | redis <url> {
//			prefix <string>
//			fail   open|closed
//		}
//		cache [<ttl>] {
//			max_size <size>
//			redis    <url>
//		}
//	}
//
// `target`, `model`, `model_map`, `header`, `price`, `to`, `models`,
// `retry_on` and `fallback` may be repeated; the others may not.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	var memberTokens []caddyfile.Token   // each `to`'s target token, checked at the end
	var fallbackTokens []caddyfile.Token // each `fallback` entry, likewise
	for d.NextBlock(0) {
		switch d.Val() {
		case "target":
			t, err := parseTarget(d)
			if err != nil {
				return err
			}
			for _, other := range h.Targets {
				if other.Name == t.Name {
					return d.Errf("target %q: defined twice", t.Name)
				}
			}
			h.Targets = append(h.Targets, t)
		case "model":
			a, toks, err := parseAlias(d)
			if err != nil {
				return err
			}
			for _, other := range h.Models {
				if other.Name == a.Name {
					return d.Errf("model %q: defined twice", a.Name)
				}
			}
			h.Models = append(h.Models, a)
			memberTokens = append(memberTokens, toks...)
		case "strategy":
			raw, err := parseStrategy(d)
			if err != nil {
				return err
			}
			h.StrategyRaw = raw
		case "retries":
			n, err := intArg(d, 0)
			if err != nil {
				return err
			}
			h.Retries = &n
		case "retry_backoff":
			base, err := nextDuration(d, "retry_backoff")
			if err != nil {
				return err
			}
			max, err := nextDuration(d, "retry_backoff")
			if err != nil {
				return err
			}
			if err := noMoreArgs(d, "retry_backoff"); err != nil {
				return err
			}
			if base <= 0 || max <= 0 {
				return d.Err("retry_backoff: durations must be above zero")
			}
			if base > max {
				return d.Errf("retry_backoff: base %s is above max %s", time.Duration(base), time.Duration(max))
			}
			h.RetryBackoff = &RetryBackoff{Base: caddy.Duration(base), Max: caddy.Duration(max)}
		case "retry_on":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Err("retry_on: expected status codes, `timeout` or `connect`")
			}
			for _, a := range args {
				if a != "timeout" && a != "connect" {
					if _, err := parseStatus(a); err != nil {
						return d.Errf("retry_on: %v", err)
					}
				}
			}
			h.RetryOn = append(h.RetryOn, args...)
		case "fallback":
			if !d.NextArg() {
				return d.Err("fallback: expected alias or target names")
			}
			for {
				h.Fallback = append(h.Fallback, d.Val())
				fallbackTokens = append(fallbackTokens, d.Token())
				if !d.NextArg() {
					break
				}
			}
		case "cooldown":
			n, err := nextInt(d, "cooldown", 0)
			if err != nil {
				return err
			}
			dur, err := nextDuration(d, "cooldown")
			if err != nil {
				return err
			}
			if err := noMoreArgs(d, "cooldown"); err != nil {
				return err
			}
			h.Cooldown = &Cooldown{Failures: &n, Duration: caddy.Duration(dur)}
		case "max_request_body":
			size, err := sizeArg(d)
			if err != nil {
				return err
			}
			h.MaxRequestBody = size
		case "key":
			k, err := keys.UnmarshalKey(d)
			if err != nil {
				return err
			}
			h.Keys = append(h.Keys, *k)
		case "store":
			if h.StoreRaw != nil {
				return d.Err("store: given twice")
			}
			if !d.NextArg() {
				return d.Err("store: expected memory or redis <url>")
			}
			name := d.Val()
			if _, err := caddy.GetModule("http.llm_router.stores." + name); err != nil {
				return d.Errf("store: unknown store %q (memory, redis)", name)
			}
			unm, err := caddyfile.UnmarshalModule(d, "http.llm_router.stores."+name)
			if err != nil {
				return err
			}
			h.StoreRaw = caddyconfig.JSONModuleObject(unm, "store", name, nil)
		case "usage_cost":
			if d.NextArg() {
				return d.Errf("usage_cost: unexpected argument %q", d.Val())
			}
			h.UsageCost = true
		case "passthrough":
			name, err := stringArg(d)
			if err != nil {
				return err
			}
			h.Passthrough = name
			memberTokens = append(memberTokens, d.Token())
		case "max_response_body":
			size, err := sizeArg(d)
			if err != nil {
				return err
			}
			h.MaxResponseBody = size
		case "cache":
			if h.Cache != nil {
				return d.Err("cache: given twice")
			}
			c, err := parseCache(d)
			if err != nil {
				return err
			}
			h.Cache = c
		default:
			return d.Errf("unrecognized subdirective %q", d.Val())
		}
	}
	return h.checkReferences(memberTokens, fallbackTokens)
}

// checkReferences reports a `to` or `fallback` naming no target, with the
// file and line of the offending token.
func (h *Handler) checkReferences(memberTokens, fallbackTokens []caddyfile.Token) error {
	names := make(map[string]bool, len(h.Targets))
	for _, t := range h.Targets {
		names[t.Name] = true
	}
	aliases := make(map[string]bool, len(h.Models))
	for _, a := range h.Models {
		aliases[a.Name] = true
	}
	for _, tok := range memberTokens {
		if !names[tok.Text] {
			return errAt(tok, "to: %q names no target", tok.Text)
		}
	}
	for _, tok := range fallbackTokens {
		if !aliases[tok.Text] && !names[tok.Text] && !names[targetPrefix(tok.Text)] {
			return errAt(tok, "fallback: %q names no alias, target or target/model", tok.Text)
		}
	}
	return nil
}

// targetPrefix is the target name of `<target>/<model>` or
// `[<target>]<model>`, else "".
func targetPrefix(model string) string {
	if rest, ok := strings.CutPrefix(model, "["); ok {
		if name, m, ok := strings.Cut(rest, "]"); ok && m != "" {
			return name
		}
		return ""
	}
	if name, m, ok := strings.Cut(model, "/"); ok && m != "" {
		return name
	}
	return ""
}

func parseTarget(d *caddyfile.Dispenser) (*Target, error) {
	if !d.NextArg() {
		return nil, d.Err("target: expected a name")
	}
	t := &Target{Name: d.Val()}
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	var provider caddyfile.Segment // `provider <name> [{ options }]` from the name on
	var flat []caddyfile.Segment   // `<name>_<option> …` lines
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		sub := d.Val()
		var err error
		switch sub {
		case "provider":
			if provider != nil {
				return nil, d.Err("provider: given twice")
			}
			if !d.NextArg() {
				return nil, d.Err("provider: expected a name such as openai, anthropic, gemini, azure or mock")
			}
			provider = d.NextSegment()
		case "base_url":
			t.BaseURL, err = stringArg(d)
		case "api_key":
			t.APIKey, err = stringArg(d)
		case "api_version":
			t.APIVersion, err = stringArg(d)
		case "models":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return nil, d.Err("models: expected model names or patterns")
			}
			t.Models = append(t.Models, args...)
		case "model_map":
			var from, to string
			if !d.Args(&from, &to) || d.NextArg() {
				return nil, d.Err("model_map: expected <client-model> <upstream-model>")
			}
			t.ModelMap = append(t.ModelMap, ModelMapping{From: from, To: to})
		case "weight":
			var n int
			n, err = intArg(d, 0)
			t.Weight = &n
		case "timeout":
			var dur caddy.Duration
			dur, err = positiveDuration(d)
			t.Timeout = dur
		case "first_byte_timeout":
			var dur caddy.Duration
			dur, err = positiveDuration(d)
			t.FirstByteTimeout = dur
		case "idle_timeout":
			var dur caddy.Duration
			dur, err = positiveDuration(d)
			t.IdleTimeout = dur
		case "header":
			var field, value string
			if !d.Args(&field, &value) || d.NextArg() {
				return nil, d.Err("header: expected <field> <value>")
			}
			if t.Headers == nil {
				t.Headers = make(map[string][]string)
			}
			t.Headers[field] = append(t.Headers[field], value)
		case "price":
			var p Price
			p, err = parsePrice(d)
			t.Prices = append(t.Prices, p)
		case "max_in_flight":
			t.MaxInFlight, err = intArg(d, 1)
		case "discover":
			t.Discover, err = parseDiscover(d, t.Discover != nil)
		default:
			// Perhaps the provider's own, written flat; checked once the
			// provider is known.
			flat = append(flat, d.NextSegment())
		}
		if err != nil {
			return nil, err
		}
	}
	raw, err := providerJSON(provider, flat)
	if err != nil {
		return nil, err
	}
	t.ProviderRaw = raw
	return t, nil
}

// parseDiscover reads `discover [<interval>]` (default interval 10m).
func parseDiscover(d *caddyfile.Dispenser, given bool) (*Discover, error) {
	if given {
		return nil, d.Err("discover: given twice")
	}
	disc := new(Discover)
	if !d.NextArg() {
		return disc, nil
	}
	dur, err := caddy.ParseDuration(d.Val())
	if err != nil || dur <= 0 {
		return nil, d.Errf("discover: %q is not an interval such as 10m", d.Val())
	}
	disc.Interval = caddy.Duration(dur)
	return disc, noMoreArgs(d, "discover")
}

// providerJSON builds the provider module's JSON with
// caddyfile.UnmarshalModule, as reverse_proxy does for its transports. The
// provider's options come from its own block (`provider mock { response hi }`)
// and from flat lines in the target prefixed with its name (`mock_response
// hi`), which are handed to the module as if they were in that block (a
// provider accepts its options with or without that prefix). The
// default provider (openai, no options) is left out of the JSON.
func providerJSON(provider caddyfile.Segment, flat []caddyfile.Segment) (json.RawMessage, error) {
	if provider == nil && len(flat) == 0 {
		return nil, nil
	}
	name := "openai"
	var nameTok caddyfile.Token
	if provider != nil {
		nameTok = provider[0]
		name = nameTok.Text
	} else {
		nameTok = caddyfile.Token{File: flat[0][0].File, Line: flat[0][0].Line - 1, Text: name}
	}
	id := "http.llm_router.providers." + name
	info, err := caddy.GetModule(id)
	if err != nil {
		return nil, errAt(nameTok, "provider: unknown provider %q", name)
	}
	// The tokens of `<name> [<args>] { <options> }`, the block's options
	// and the flat ones in the order written (the dispenser finds line ends
	// by increasing line numbers).
	head := provider
	var opts []caddyfile.Segment
	if provider != nil {
		for i, t := range provider {
			if t.Text == "{" {
				head = provider[:i]
				break
			}
		}
		pd := caddyfile.NewDispenser(provider)
		pd.Next()
		for pd.NextArg() {
		}
		for nesting := pd.Nesting(); pd.NextBlock(nesting); {
			opts = append(opts, pd.NextSegment())
		}
	} else {
		head = caddyfile.Segment{nameTok}
	}
	for _, seg := range flat {
		if !strings.HasPrefix(seg[0].Text, name+"_") {
			return nil, errAt(seg[0], "unrecognized subdirective %q", seg[0].Text)
		}
		opts = append(opts, seg)
	}
	toks := head
	if len(opts) > 0 {
		slices.SortStableFunc(opts, func(a, b caddyfile.Segment) int { return cmp.Compare(a[0].Line, b[0].Line) })
		line := min(head[len(head)-1].Line, opts[0][0].Line-1)
		toks = make(caddyfile.Segment, 0, len(head)+2+len(opts)*3)
		for _, t := range head {
			t.Line = line
			toks = append(toks, t)
		}
		toks = append(toks, caddyfile.Token{File: nameTok.File, Line: line, Text: "{"})
		for _, seg := range opts {
			toks = append(toks, seg...)
		}
		last := opts[len(opts)-1]
		toks = append(toks, caddyfile.Token{File: nameTok.File, Line: last[len(last)-1].Line + 1, Text: "}"})
	}
	mod := info.New()
	if unm, ok := mod.(caddyfile.Unmarshaler); ok {
		if err := unm.UnmarshalCaddyfile(caddyfile.NewDispenser(toks)); err != nil {
			return nil, err
		}
	} else if len(opts) > 0 {
		return nil, errAt(opts[0][0], "provider %s takes no options", name)
	} else if len(toks) > 1 {
		return nil, errAt(toks[1], "provider %s takes no options", name)
	}
	return caddyconfig.JSONModuleObject(mod, "provider", name, nil), nil
}

// errAt is an error naming tok's file and line.
func errAt(tok caddyfile.Token, format string, args ...any) error {
	d := caddyfile.NewDispenser(caddyfile.Segment{tok})
	d.Next()
	return d.Errf(format, args...)
}

func parseAlias(d *caddyfile.Dispenser) (*ModelAlias, []caddyfile.Token, error) {
	if !d.NextArg() {
		return nil, nil, d.Err("model: expected an alias name")
	}
	a := &ModelAlias{Name: d.Val()}
	if d.NextArg() {
		return nil, nil, d.ArgErr()
	}
	var toks []caddyfile.Token
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "strategy":
			raw, err := parseStrategy(d)
			if err != nil {
				return nil, nil, err
			}
			a.StrategyRaw = raw
		case "to":
			m, tok, err := parseMember(d)
			if err != nil {
				return nil, nil, err
			}
			a.To = append(a.To, m)
			toks = append(toks, tok)
		default:
			return nil, nil, d.Errf("unrecognized subdirective %q", d.Val())
		}
	}
	if len(a.To) == 0 {
		return nil, nil, d.Errf("model %q: needs at least one `to`", a.Name)
	}
	return a, toks, nil
}

// parseMember parses `to <target> [<upstream-model>] [weight <n>]
// [when <condition>...]`.
func parseMember(d *caddyfile.Dispenser) (Member, caddyfile.Token, error) {
	if !d.NextArg() {
		return Member{}, caddyfile.Token{}, d.Err("to: expected <target> [<upstream-model>] [weight <n>] [when <condition>...]")
	}
	m := Member{Target: d.Val()}
	tok := d.Token()
	args := d.RemainingArgs()
	if i := slices.Index(args, "when"); i >= 0 {
		conds, err := parseConditions(args[i+1:])
		if err != nil {
			return Member{}, tok, d.Errf("to: when: %v", err)
		}
		m.When, args = conds, args[:i]
	}
	if len(args) > 0 && args[0] != "weight" {
		m.Model, args = args[0], args[1:]
	}
	switch {
	case len(args) == 0:
	case len(args) == 2 && args[0] == "weight":
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 0 {
			return Member{}, tok, d.Errf("to: weight %q must be a non-negative integer", args[1])
		}
		m.Weight = &n
	default:
		return Member{}, tok, d.Err("to: expected <target> [<upstream-model>] [weight <n>] [when <condition>...]")
	}
	return m, tok, nil
}

// parseStrategy parses `strategy <name> [<options…>] [{ … }]` with
// caddyfile.UnmarshalModule, as reverse_proxy does for lb_policy.
func parseStrategy(d *caddyfile.Dispenser) (json.RawMessage, error) {
	if !d.NextArg() {
		return nil, d.Err("strategy: expected weighted, fallback, latency, least_busy, cost or sticky")
	}
	name := d.Val()
	id := "http.llm_router.selection_policies." + name
	if _, err := caddy.GetModule(id); err != nil {
		return nil, d.Errf("strategy: unknown strategy %q", name)
	}
	unm, err := caddyfile.UnmarshalModule(d, id)
	if err != nil {
		return nil, err
	}
	return caddyconfig.JSONModuleObject(unm, "policy", name, nil), nil
}

// parsePrice parses `price <model-pattern> <usd-per-1M-input>
// <usd-per-1M-output> [cache_read <usd-per-1M>] [cache_write <usd-per-1M>]`.
func parsePrice(d *caddyfile.Dispenser) (Price, error) {
	const usage = "price: expected <model-pattern> <usd-per-1M-input> <usd-per-1M-output> [cache_read <usd-per-1M>] [cache_write <usd-per-1M>]"
	var pattern, in, out string
	if !d.Args(&pattern, &in, &out) {
		return Price{}, d.Err(usage)
	}
	input, err1 := strconv.ParseFloat(in, 64)
	output, err2 := strconv.ParseFloat(out, 64)
	if err1 != nil || err2 != nil || input < 0 || output < 0 {
		return Price{}, d.Errf("price: %q and %q must be non-negative numbers", in, out)
	}
	p := Price{Pattern: pattern, Input: input, Output: output}
	for d.NextArg() {
		kind := d.Val()
		var dst **float64
		switch kind {
		case "cache_read":
			dst = &p.CacheRead
		case "cache_write":
			dst = &p.CacheWrite
		default:
			return Price{}, d.Errf("price: unexpected %q; %s", kind, usage)
		}
		if *dst != nil || !d.NextArg() {
			return Price{}, d.Err(usage)
		}
		v, err := strconv.ParseFloat(d.Val(), 64)
		if err != nil || v < 0 {
			return Price{}, d.Errf("price: %s %q must be a non-negative number", kind, d.Val())
		}
		*dst = &v
	}
	return p, nil
}

// sizeArg reads the one size argument (such as 32MiB) of the current
// subdirective.
func sizeArg(d *caddyfile.Dispenser) (int64, error) {
	name := d.Val()
	if !d.NextArg() {
		return 0, d.Errf("%s: expected a size such as 32MiB", name)
	}
	size, err := humanize.ParseBytes(d.Val())
	if err != nil || size == 0 || size > 1<<40 {
		return 0, d.Errf("%s: %q is not a size such as 32MiB", name, d.Val())
	}
	return int64(size), noMoreArgs(d, name)
}

// stringArg reads the one argument of the current subdirective.
func stringArg(d *caddyfile.Dispenser) (string, error) {
	name := d.Val()
	if !d.NextArg() {
		return "", d.Errf("%s: expected a value", name)
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.Errf("%s: expected one value, got more", name)
	}
	return v, nil
}

// intArg reads the one integer argument, of at least min, of the current
// subdirective.
func intArg(d *caddyfile.Dispenser, min int) (int, error) {
	name := d.Val()
	n, err := nextInt(d, name, min)
	if err != nil {
		return 0, err
	}
	return n, noMoreArgs(d, name)
}

func nextInt(d *caddyfile.Dispenser, name string, min int) (int, error) {
	if !d.NextArg() {
		return 0, d.Errf("%s: expected a number", name)
	}
	n, err := strconv.Atoi(d.Val())
	if err != nil || n < min {
		return 0, d.Errf("%s: %q must be an integer of at least %d", name, d.Val(), min)
	}
	return n, nil
}

func nextDuration(d *caddyfile.Dispenser, name string) (caddy.Duration, error) {
	if !d.NextArg() {
		return 0, d.Errf("%s: expected a duration", name)
	}
	dur, err := caddy.ParseDuration(d.Val())
	if err != nil || dur < 0 {
		return 0, d.Errf("%s: %q is not a duration such as 500ms or 30s", name, d.Val())
	}
	return caddy.Duration(dur), nil
}

// positiveDuration reads the one duration argument, above zero, of the
// current subdirective.
func positiveDuration(d *caddyfile.Dispenser) (caddy.Duration, error) {
	name := d.Val()
	dur, err := nextDuration(d, name)
	if err != nil {
		return 0, err
	}
	if dur <= 0 {
		return 0, d.Errf("%s: must be above zero", name)
	}
	return dur, noMoreArgs(d, name)
}

func noMoreArgs(d *caddyfile.Dispenser, name string) error {
	if d.NextArg() {
		return d.Errf("%s: unexpected argument %q", name, d.Val())
	}
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Handler)(nil)
