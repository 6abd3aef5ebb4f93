package mock

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// ToolCall is a tool call the mock answers with when the request offers a
// tool of that name.
type ToolCall struct {
	// Tool is the function's name.
	Tool string `json:"tool"`
	// Arguments is the call's arguments, a JSON object. Default: `{}`.
	Arguments string `json:"arguments,omitempty"`
}

// UnmarshalCaddyfile sets up the mock from its block:
//
//	provider mock {
//		response  <text>
//		delay     <duration>
//		tool_call <tool> <json-arguments>   # repeatable
//		models    <name...>                 # listed by `discover`; repeatable
//	}
//
// Inside a `target` block the same options may be written flat, prefixed
// with the provider's name: `mock_response`, `mock_delay`,
// `mock_tool_call`, `mock_models`. A text or JSON with spaces needs quotes
// or backticks.
func (p *Provider) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the provider's name
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		switch strings.TrimPrefix(opt, "mock_") {
		case "response":
			if !d.NextArg() {
				return d.Errf("%s: expected a text (quote it when it has spaces)", opt)
			}
			p.Response = d.Val()
		case "delay":
			if !d.NextArg() {
				return d.Errf("%s: expected a duration", opt)
			}
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil || dur < 0 {
				return d.Errf("%s: %q is not a duration such as 50ms", opt, d.Val())
			}
			p.Delay = caddy.Duration(dur)
		case "tool_call":
			var tc ToolCall
			if !d.Args(&tc.Tool) {
				return d.Errf("%s: expected <tool> [<json-arguments>]", opt)
			}
			if d.NextArg() {
				tc.Arguments = d.Val()
			}
			if err := tc.check(); err != nil {
				return d.Errf("%s: %v", opt, err)
			}
			p.ToolCalls = append(p.ToolCalls, tc)
		case "models":
			names := d.RemainingArgs()
			if len(names) == 0 {
				return d.Errf("%s: expected model names", opt)
			}
			p.Models = append(p.Models, names...)
		default:
			return d.Errf("unrecognized subdirective %q", opt)
		}
		if d.NextArg() {
			return d.Errf("%s: unexpected argument %q (quote a text with spaces)", opt, d.Val())
		}
	}
	return nil
}

func (tc ToolCall) check() error {
	if tc.Tool == "" || strings.ContainsAny(tc.Tool, " \t\n") {
		return fmt.Errorf("%q is not a tool name", tc.Tool)
	}
	if tc.Arguments != "" {
		var obj map[string]any
		if err := json.Unmarshal([]byte(tc.Arguments), &obj); err != nil {
			return fmt.Errorf("arguments %q are not a JSON object (quote JSON with spaces in backticks)", tc.Arguments)
		}
	}
	return nil
}

// Validate checks the configuration.
func (p *Provider) Validate() error {
	if p.Delay < 0 {
		return fmt.Errorf("delay must not be negative")
	}
	for _, tc := range p.ToolCalls {
		if err := tc.check(); err != nil {
			return fmt.Errorf("tool_call: %v", err)
		}
	}
	return nil
}
