package routing

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the policy. Syntax:
//
//	strategy latency [<explore_percent>] {
//		explore_percent <0-100>
//	}
func (l *Latency) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the policy's name
	setPercent := func() error {
		v, err := strconv.ParseFloat(d.Val(), 64)
		if err != nil || v < 0 || v > 100 {
			return d.Errf("explore_percent: %q is not a number from 0 to 100", d.Val())
		}
		l.ExplorePercent = &v
		return nil
	}
	if d.NextArg() {
		if err := setPercent(); err != nil {
			return err
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "explore_percent":
			if !d.NextArg() {
				return d.Err("explore_percent: expected a number from 0 to 100")
			}
			if err := setPercent(); err != nil {
				return err
			}
			if d.NextArg() {
				return d.ArgErr()
			}
		default:
			return d.Errf("unrecognized latency option %q", d.Val())
		}
	}
	return nil
}

// noOptions parses a policy that takes no options.
func noOptions(d *caddyfile.Dispenser) error {
	d.Next() // the policy's name
	name := d.Val()
	if d.NextArg() {
		return d.Errf("strategy %s takes no options", name)
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		return d.Errf("strategy %s takes no options", name)
	}
	return nil
}

// UnmarshalCaddyfile sets up the policy; it takes no options.
func (*Weighted) UnmarshalCaddyfile(d *caddyfile.Dispenser) error { return noOptions(d) }

// UnmarshalCaddyfile sets up the policy; it takes no options.
func (*Fallback) UnmarshalCaddyfile(d *caddyfile.Dispenser) error { return noOptions(d) }

// UnmarshalCaddyfile sets up the policy; it takes no options.
func (*LeastBusy) UnmarshalCaddyfile(d *caddyfile.Dispenser) error { return noOptions(d) }

// UnmarshalCaddyfile sets up the policy; it takes no options.
func (*Cost) UnmarshalCaddyfile(d *caddyfile.Dispenser) error { return noOptions(d) }

// UnmarshalCaddyfile sets up the policy; it takes no options.
func (*Sticky) UnmarshalCaddyfile(d *caddyfile.Dispenser) error { return noOptions(d) }

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Latency)(nil)
	_ caddyfile.Unmarshaler = (*Weighted)(nil)
	_ caddyfile.Unmarshaler = (*Fallback)(nil)
	_ caddyfile.Unmarshaler = (*LeastBusy)(nil)
	_ caddyfile.Unmarshaler = (*Cost)(nil)
	_ caddyfile.Unmarshaler = (*Sticky)(nil)
)
