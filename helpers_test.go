package llmrouter

import (
	"context"
	"testing"

	"github.com/llmrouter/caddy-llm-router/apis"
	openaiapi "github.com/llmrouter/caddy-llm-router/apis/openai"
	"github.com/llmrouter/caddy-llm-router/llm"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// provisioned parses an llm_router block and provisions it as Caddy would.
func provisioned(tb testing.TB, block string) *Handler {
	tb.Helper()
	h := new(Handler)
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(block)); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	tb.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = h.Cleanup() })
	return h
}

// The OpenAI chat API, as the handler's requests are parsed in unit tests.
var (
	chatAPI   apis.API = openaiapi.API{}
	chatRoute          = apis.Route{Op: llm.OpChat}
)
