package keys

import "github.com/llmrouter/caddy-llm-router/internal/glob"

func compileGlob(pattern string) glob.Glob { return glob.Compile(pattern) }
