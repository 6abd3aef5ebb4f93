package llmrouter

import (
	"fmt"

	"github.com/llmrouter/caddy-llm-router/routing"
)

// fallbackEntry is one entry of the `fallback` list: an alias, a target
// (sent the request's model) or `target/model`.
type fallbackEntry struct {
	fixed  *group  // alias or target/model
	target *Target // bare target name
}

// group returns the entry's candidates for a request for model.
func (f fallbackEntry) group(model string) *group {
	if f.fixed != nil {
		return f.fixed
	}
	return &group{members: []member{newMember(f.target, model, 1)}, policy: routing.Fallback{}}
}

func (h *Handler) provisionFallbacks() error {
	h.fallbacks = h.fallbacks[:0]
	for _, name := range h.Fallback {
		switch a, t := h.aliases[name], h.targets[name]; {
		case a != nil:
			h.fallbacks = append(h.fallbacks, fallbackEntry{fixed: a.group})
		case t != nil:
			h.fallbacks = append(h.fallbacks, fallbackEntry{target: t})
		default:
			t, model, ok := h.prefixed(name)
			if !ok {
				return fmt.Errorf("fallback: %q names no alias, target or target/model", name)
			}
			h.fallbacks = append(h.fallbacks, fallbackEntry{fixed: h.single(t, model)})
		}
	}
	return nil
}
