package keys

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalKey parses one `key` subdirective; d's current token is `key`.
// Syntax:
//
//	key <secret> {
//		name    <label>                               # required
//		models  <pattern...>                          # repeatable
//		targets <name...>                             # repeatable
//		rpm     <n>
//		tpm     <n>
//		budget  <usd> daily|weekly|monthly|total      # repeatable, one per period
//	}
//
// Errors name the file and line, never the secret.
func UnmarshalKey(d *caddyfile.Dispenser) (*KeyConfig, error) {
	if !d.NextArg() {
		return nil, d.Err("key: expected <secret> followed by a block with at least `name`")
	}
	c := &KeyConfig{Secret: d.Val()}
	keyLine := caddyfile.NewDispenser([]caddyfile.Token{d.Token()}) // for the file and line of errors
	if d.NextArg() {
		// Not ArgErr: it would quote the token, which may be part of a secret.
		return nil, d.Err("key: expected one secret (quote it if it contains spaces)")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		sub := d.Val()
		switch sub {
		case "name":
			if c.Name != "" {
				return nil, d.Err("name: given twice")
			}
			if !d.NextArg() || d.Val() == "" {
				return nil, d.Err("name: expected a label")
			}
			c.Name = d.Val()
			if d.NextArg() {
				return nil, d.Err("name: expected one label (quote it if it contains spaces)")
			}
		case "models":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return nil, d.Err("models: expected model names or patterns")
			}
			c.Models = append(c.Models, args...)
		case "targets":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return nil, d.Err("targets: expected target names")
			}
			c.Targets = append(c.Targets, args...)
		case "rpm", "tpm":
			n, err := countArg(d, sub)
			if err != nil {
				return nil, err
			}
			if sub == "rpm" {
				c.RPM = n
			} else {
				c.TPM = n
			}
		case "budget":
			b, err := parseBudget(d, c)
			if err != nil {
				return nil, err
			}
			c.Budgets = append(c.Budgets, b)
		default:
			return nil, d.Errf("unrecognized subdirective %q", sub)
		}
	}
	if c.Name == "" {
		keyLine.Next()
		return nil, keyLine.Err("key: `name` is required")
	}
	if err := c.Validate(); err != nil {
		keyLine.Next()
		return nil, keyLine.WrapErr(err)
	}
	return c, nil
}

// countArg reads the one positive integer argument of rpm or tpm.
func countArg(d *caddyfile.Dispenser, name string) (int64, error) {
	if !d.NextArg() {
		return 0, d.Errf("%s: expected a number", name)
	}
	n, err := strconv.ParseInt(d.Val(), 10, 64)
	if err != nil || n <= 0 {
		return 0, d.Errf("%s: %q is not a whole number above 0", name, d.Val())
	}
	if d.NextArg() {
		return 0, d.Errf("%s: expected one number", name)
	}
	return n, nil
}

func parseBudget(d *caddyfile.Dispenser, c *KeyConfig) (BudgetConfig, error) {
	var usd, period string
	if !d.Args(&usd, &period) || d.NextArg() {
		return BudgetConfig{}, d.Err("budget: expected <usd> daily|weekly|monthly|total")
	}
	v, err := strconv.ParseFloat(usd, 64)
	if err != nil || !(v > 0) || v > MaxBudgetUSD {
		return BudgetConfig{}, d.Errf("budget: %q is not an amount of USD above 0 and at most %d", usd, MaxBudgetUSD)
	}
	p := Period(period)
	if !p.Valid() {
		return BudgetConfig{}, d.Errf("budget: period %q is not daily, weekly, monthly or total", period)
	}
	for _, b := range c.Budgets {
		if b.Period == p {
			return BudgetConfig{}, d.Errf("budget: a %s budget is already set", p)
		}
	}
	return BudgetConfig{USD: v, Period: p}, nil
}
