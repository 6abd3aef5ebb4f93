package llmrouter

// The inbound APIs, providers and selection policies that come with the
// module: importing the root package registers them all, as caddy-l4's
// imports.go does.
import (
	_ "github.com/llmrouter/caddy-llm-router/apis/anthropic"
	_ "github.com/llmrouter/caddy-llm-router/apis/gemini"
	_ "github.com/llmrouter/caddy-llm-router/apis/openai"
	_ "github.com/llmrouter/caddy-llm-router/apis/responses"
	_ "github.com/llmrouter/caddy-llm-router/dashboard"
	_ "github.com/llmrouter/caddy-llm-router/providers/anthropic"
	_ "github.com/llmrouter/caddy-llm-router/providers/azure"
	_ "github.com/llmrouter/caddy-llm-router/providers/gemini"
	_ "github.com/llmrouter/caddy-llm-router/providers/mock"
	_ "github.com/llmrouter/caddy-llm-router/providers/openai"
	_ "github.com/llmrouter/caddy-llm-router/stores/memory"
	_ "github.com/llmrouter/caddy-llm-router/stores/redis"
)
