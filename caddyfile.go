package llmrouter

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/llmrouter/caddy-llm-router/providers"
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
//			header        <field> <value>
//			price         <model-pattern> <usd-per-1M-input> <usd-per-1M-output>
//			max_in_flight <n>
//			# and the provider's own, e.g. mock_response <text>, mock_delay <duration>
//		}
//		model <alias> {
//			strategy weighted|fallback|latency|least_busy|cost|sticky
//			to <target> [<upstream-model>] [weight <n>]
//		}
//		strategy         <name>
//		retries          <n>
//		retry_backoff    <base> <max>
//		retry_on         <code|timeout|connect...>
//		fallback         <alias-or-target...>
//		cooldown         <failures> <duration>
//		max_request_body <size>
//	}
//
// `target`, `model`, `model_map`, `header`, `price`, `to`, `models`,
// `retry_on` and `fallback` may be repeated; the others may not.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	var memberTokens []caddyfile.Token // each `to`'s target token, checked at the end
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
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Err("fallback: expected alias or target names")
			}
			h.Fallback = append(h.Fallback, args...)
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
			h.Cooldown = &Cooldown{Failures: n, Duration: caddy.Duration(dur)}
		case "max_request_body":
			if !d.NextArg() {
				return d.Err("max_request_body: expected a size such as 32MiB")
			}
			size, err := humanize.ParseBytes(d.Val())
			if err != nil || size == 0 || size > 1<<40 {
				return d.Errf("max_request_body: %q is not a size such as 32MiB", d.Val())
			}
			if err := noMoreArgs(d, "max_request_body"); err != nil {
				return err
			}
			h.MaxRequestBody = int64(size)
		default:
			return d.Errf("unrecognized subdirective %q", d.Val())
		}
	}
	return h.checkReferences(memberTokens)
}

// checkReferences reports a `to` or `fallback` naming no target, with the
// file and line of the offending token.
func (h *Handler) checkReferences(memberTokens []caddyfile.Token) error {
	names := make(map[string]bool, len(h.Targets))
	for _, t := range h.Targets {
		names[t.Name] = true
	}
	for _, tok := range memberTokens {
		if !names[tok.Text] {
			td := caddyfile.NewDispenser([]caddyfile.Token{tok})
			td.Next()
			return td.Errf("to: %q names no target", tok.Text)
		}
	}
	return nil
}

func parseTarget(d *caddyfile.Dispenser) (*Target, error) {
	if !d.NextArg() {
		return nil, d.Err("target: expected a name")
	}
	t := &Target{Name: d.Val()}
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	providerName := ""
	var providerToken *caddyfile.Dispenser
	var providerOptions []*caddyfile.Dispenser
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		sub := d.Val()
		var err error
		switch sub {
		case "provider":
			if providerName != "" {
				return nil, d.Err("provider: given twice")
			}
			providerToken = caddyfile.NewDispenser([]caddyfile.Token{d.Token()})
			providerName, err = stringArg(d)
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
		default:
			// Perhaps the provider's own; checked once it is known.
			providerOptions = append(providerOptions, d.NewFromNextSegment())
		}
		if err != nil {
			return nil, err
		}
	}
	raw, err := providerJSON(providerName, providerToken, providerOptions)
	if err != nil {
		return nil, err
	}
	t.ProviderRaw = raw
	return t, nil
}

// providerJSON builds the provider module's JSON, letting the provider parse
// its own subdirectives. The default provider (openai, no options) is left
// out of the JSON.
func providerJSON(name string, nameTok *caddyfile.Dispenser, options []*caddyfile.Dispenser) (json.RawMessage, error) {
	if name == "" && len(options) == 0 {
		return nil, nil
	}
	if name == "" {
		name = "openai"
	}
	info, err := caddy.GetModule("http.llm_router.providers." + name)
	if err != nil {
		if nameTok != nil {
			nameTok.Next()
			return nil, nameTok.Errf("provider: unknown provider %q", name)
		}
		return nil, err
	}
	mod := info.New()
	for _, od := range options {
		od.Next()
		handled := false
		if p, ok := mod.(providers.CaddyfileOptions); ok {
			if handled, err = p.UnmarshalTargetOption(od); err != nil {
				return nil, err
			}
		}
		if !handled {
			return nil, od.Errf("unrecognized subdirective %q", od.Val())
		}
	}
	return caddyconfig.JSONModuleObject(mod, "provider", name, nil), nil
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

// parseMember parses `to <target> [<upstream-model>] [weight <n>]`.
func parseMember(d *caddyfile.Dispenser) (Member, caddyfile.Token, error) {
	if !d.NextArg() {
		return Member{}, caddyfile.Token{}, d.Err("to: expected <target> [<upstream-model>] [weight <n>]")
	}
	m := Member{Target: d.Val()}
	tok := d.Token()
	args := d.RemainingArgs()
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
		return Member{}, tok, d.Err("to: expected <target> [<upstream-model>] [weight <n>]")
	}
	return m, tok, nil
}

func parseStrategy(d *caddyfile.Dispenser) (json.RawMessage, error) {
	name, err := stringArg(d)
	if err != nil {
		return nil, err
	}
	info, err := caddy.GetModule("http.llm_router.selection_policies." + name)
	if err != nil {
		return nil, d.Errf("strategy: unknown strategy %q", name)
	}
	return caddyconfig.JSONModuleObject(info.New(), "policy", name, nil), nil
}

func parsePrice(d *caddyfile.Dispenser) (Price, error) {
	var pattern, in, out string
	if !d.Args(&pattern, &in, &out) || d.NextArg() {
		return Price{}, d.Err("price: expected <model-pattern> <usd-per-1M-input> <usd-per-1M-output>")
	}
	input, err1 := strconv.ParseFloat(in, 64)
	output, err2 := strconv.ParseFloat(out, 64)
	if err1 != nil || err2 != nil || input < 0 || output < 0 {
		return Price{}, d.Errf("price: %q and %q must be non-negative numbers", in, out)
	}
	return Price{Pattern: pattern, Input: input, Output: output}, nil
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
