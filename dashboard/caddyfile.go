package dashboard

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_dashboard", parseCaddyfile)
	// Before reverse_proxy, like llm_router. This package is initialised
	// before the router's (the router imports it), so llm_dashboard ends
	// up ahead of llm_router too: `llm_dashboard /dashboard*` next to an
	// unmatched `llm_router` in one site gets its requests first.
	httpcaddyfile.RegisterDirectiveOrder("llm_dashboard", httpcaddyfile.Before, "reverse_proxy")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	d := new(Dashboard)
	err := d.UnmarshalCaddyfile(h.Dispenser)
	return d, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	llm_dashboard [<matcher>]
//
// It takes no arguments and no block.
func (d *Dashboard) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	disp.Next() // the directive's name
	if disp.NextArg() {
		return disp.Errf("llm_dashboard takes no arguments, got %q", disp.Val())
	}
	for disp.NextBlock(0) {
		return disp.Errf("unrecognized subdirective %q", disp.Val())
	}
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Dashboard)(nil)
