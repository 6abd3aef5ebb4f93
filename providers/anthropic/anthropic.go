// Package anthropic is the `anthropic` provider: Anthropic's Messages API
// (POST {base_url}/v1/messages) behind the router's OpenAI-compatible API.
//
// Chat completions are translated both ways, streamed or not: system and
// developer messages become `system`, consecutive turns of one role are
// merged so roles alternate, tool calls and tool results become `tool_use`
// and `tool_result` blocks, image parts become image blocks, and the
// Messages API's answer (text, tool calls, thinking, usage, stop reason) is
// written back as an OpenAI chat completion or as chat.completion.chunk
// events. Embeddings and legacy completions have no equivalent: Check
// reports them unsupported so that another candidate serves them, and so
// are `n` > 1 and log probabilities.
//
// Requests of the Messages API itself (from Anthropic clients, through the
// router's anthropic inbound API) pass through byte for byte instead (see
// NewNativeRequest and RelayNative).
//
// `response_format` json_object and json_schema are served through a forced
// tool whose input_schema is the requested schema; the tool's input comes
// back as the message content (streamed as content deltas), finish_reason
// "stop". Together with the client's own tools that cannot work, so that
// combination is unsupported.
package anthropic

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/stream"
)

func init() {
	caddy.RegisterModule(Provider{})
}

const (
	// DefaultBaseURL is Anthropic's public endpoint.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultVersion is the `anthropic-version` header sent when the
	// target sets no api_version.
	DefaultVersion = "2023-06-01"
	// DefaultMaxTokens is the `max_tokens` sent when the client gives
	// neither max_tokens nor max_completion_tokens: the Messages API
	// requires one.
	DefaultMaxTokens = 4096
)

// Provider is the `anthropic` provider. The endpoint, key, version and extra
// headers are the target's; the key is sent in `x-api-key` and the version in
// `anthropic-version`.
type Provider struct {
	// DefaultMaxTokens is the `max_tokens` sent upstream when the client's
	// request has neither `max_tokens` nor `max_completion_tokens`.
	// Default: 4096.
	DefaultMaxTokens int64 `json:"default_max_tokens,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Provider) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.llm_router.providers.anthropic",
		New: func() caddy.Module { return new(Provider) },
	}
}

// UnmarshalCaddyfile sets up the provider from its block:
//
//	provider anthropic {
//		max_tokens <n>   # the max_tokens sent when the client gives none
//	}
//
// Inside a `target` block it may be written flat: `anthropic_max_tokens <n>`.
func (p *Provider) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the provider's name
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		switch strings.TrimPrefix(opt, "anthropic_") {
		case "max_tokens":
			if !d.NextArg() {
				return d.Errf("%s: expected a positive integer", opt)
			}
			n, err := strconv.ParseInt(d.Val(), 10, 64)
			if err != nil || n < 1 {
				return d.Errf("%s: %q is not a positive integer", opt, d.Val())
			}
			p.DefaultMaxTokens = n
			if d.NextArg() {
				return d.Errf("%s: unexpected argument %q", opt, d.Val())
			}
		default:
			return d.Errf("unrecognized subdirective %q", opt)
		}
	}
	return nil
}

// Validate checks the configuration.
func (p *Provider) Validate() error {
	if p.DefaultMaxTokens < 0 {
		return fmt.Errorf("default_max_tokens must not be negative")
	}
	return nil
}

// ConfigureUpstream fills in Anthropic's endpoint when base_url is unset.
func (Provider) ConfigureUpstream(u *llm.Upstream) error {
	if u.BaseURL == "" {
		u.BaseURL = DefaultBaseURL
	}
	u.BaseURL = strings.TrimRight(u.BaseURL, "/")
	return nil
}

var (
	jsonContentType  = []string{"application/json"}
	eventStreamValue = []string{stream.ContentType}
)

// NewRequest builds `POST {base_url}/v1/messages` with the translated body
// (see appendRequest), `x-api-key` and `anthropic-version`.
func (p *Provider) NewRequest(ctx context.Context, c *llm.Call) (*http.Request, error) {
	body := appendRequest(make([]byte, 0, len(c.Body)+512), c, p.maxTokens())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Upstream.BaseURL+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h["Content-Type"] = jsonContentType
	if c.Stream {
		h["Accept"] = eventStreamValue
	}
	if key := c.Key(); key != "" {
		h["X-Api-Key"] = []string{key}
	}
	version := c.Upstream.APIVersion
	if version == "" {
		version = DefaultVersion
	}
	h["Anthropic-Version"] = []string{version}
	providers.SetExtraHeaders(req, c.Upstream.Header)
	return req, nil
}

func (p *Provider) maxTokens() int64 {
	if p.DefaultMaxTokens > 0 {
		return p.DefaultMaxTokens
	}
	return DefaultMaxTokens
}

// Check reports what the Messages API cannot serve (see check).
func (Provider) Check(c *llm.Call) error {
	if e := check(c); e != nil {
		return e
	}
	return nil
}

// WriteResponse translates a 2xx Messages API answer: an event stream event
// by event (see writeStream), a message as one chat completion (see
// writeMessage).
func (Provider) WriteResponse(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	if c.Stream && stream.IsEventStream(resp.Header) {
		return writeStream(w, resp, c)
	}
	return writeMessage(w, resp, c)
}

// ReadError reads an error in Anthropic's shape (see parseError).
func (Provider) ReadError(resp *http.Response, body []byte, _ *llm.Call) *llm.Error {
	return parseError(resp, body)
}

// Interface guards
var (
	_ providers.Provider    = (*Provider)(nil)
	_ providers.Checker     = (*Provider)(nil)
	_ providers.Native      = (*Provider)(nil)
	_ providers.Configurer  = (*Provider)(nil)
	_ caddyfile.Unmarshaler = (*Provider)(nil)
	_ caddy.Validator       = (*Provider)(nil)
)
