package llmrouter

import (
	"fmt"
	"strconv"

	"github.com/llmrouter/caddy-llm-router/apis"
)

// Condition is one condition of a `to … when …` line (SPEC 13): the member
// is a candidate of a request only when all of its conditions hold.
type Condition struct {
	// Not negates the condition.
	Not bool `json:"not,omitempty"`
	// Is names the condition: `prompt_tokens_lt` (estimated prompt tokens
	// below N), `prompt_tokens_ge` (at least N), `images` (the request
	// carries an image), `tools` (it offers tools), `json` (it asks for a
	// JSON response format) or `stream`.
	Is string `json:"is"`
	// N is the token count of the prompt_tokens conditions.
	N int64 `json:"n,omitempty"`
}

// The conditions' names.
const (
	condPromptLT = "prompt_tokens_lt"
	condPromptGE = "prompt_tokens_ge"
	condImages   = "images"
	condTools    = "tools"
	condJSON     = "json"
	condStream   = "stream"
)

func (c Condition) check() error {
	switch c.Is {
	case condPromptLT, condPromptGE:
		if c.N < 0 {
			return fmt.Errorf("%s: the token count must not be negative", c.Is)
		}
	case condImages, condTools, condJSON, condStream:
	default:
		return fmt.Errorf("unknown condition %q", c.Is)
	}
	return nil
}

// holds evaluates the condition on a request.
func (c Condition) holds(req *apis.Request) bool {
	var v bool
	switch c.Is {
	case condPromptLT:
		v = req.Features().PromptTokens < c.N
	case condPromptGE:
		v = req.Features().PromptTokens >= c.N
	case condImages:
		v = req.Features().Images
	case condTools:
		v = req.Features().Tools
	case condJSON:
		v = req.Features().JSON
	case condStream:
		v = req.Stream
	}
	return v != c.Not
}

// qualifies reports whether every condition of a member holds.
func qualifies(conds []Condition, req *apis.Request) bool {
	for _, c := range conds {
		if !c.holds(req) {
			return false
		}
	}
	return true
}

// parseConditions reads the words after `when`: `[not] prompt_tokens < n`,
// `[not] prompt_tokens >= n`, `[not] images|tools|json|stream`, in any
// number, all of which must hold.
func parseConditions(words []string) ([]Condition, error) {
	var out []Condition
	for i := 0; i < len(words); i++ {
		var c Condition
		if words[i] == "not" {
			c.Not = true
			i++
			if i >= len(words) {
				return nil, fmt.Errorf("`not` must be followed by a condition")
			}
		}
		switch w := words[i]; w {
		case "prompt_tokens":
			if i+2 >= len(words) {
				return nil, fmt.Errorf("expected `prompt_tokens < <n>` or `prompt_tokens >= <n>`")
			}
			switch words[i+1] {
			case "<":
				c.Is = condPromptLT
			case ">=":
				c.Is = condPromptGE
			default:
				return nil, fmt.Errorf("prompt_tokens: operator %q is not < or >=", words[i+1])
			}
			n, err := strconv.ParseInt(words[i+2], 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("prompt_tokens: %q is not a token count", words[i+2])
			}
			c.N = n
			i += 2
		case condImages, condTools, condJSON, condStream:
			c.Is = w
		default:
			return nil, fmt.Errorf("unknown condition %q (want prompt_tokens, images, tools, json, stream, not)", w)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("`when` needs at least one condition")
	}
	return out, nil
}
