package llmrouter

import "github.com/llmrouter/caddy-llm-router/internal/glob"

// The router's model patterns (`models`, `price`), see package glob.
type pattern = glob.Glob

func compileGlob(p string) pattern { return glob.Compile(p) }

func isGlob(p string) bool { return glob.IsGlob(p) }
