package llmrouter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

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

// comparison reads `< <n>` or `>= <n>` after prompt_tokens, also written
// `<n>` / `>=n` in one word (`caddy fmt` removes the space after `<`). It
// returns the condition, the count and how many words it used.
func comparison(words []string) (op string, n int64, used int, err error) {
	const want = "expected `prompt_tokens < <n>` or `prompt_tokens >= <n>`"
	if len(words) == 0 {
		return "", 0, 0, errors.New(want)
	}
	var num string
	switch w := words[0]; {
	case w == "<" || w == ">=":
		if len(words) < 2 {
			return "", 0, 0, errors.New(want)
		}
		op, num, used = w, words[1], 2
	case strings.HasPrefix(w, ">="):
		op, num, used = ">=", w[2:], 1
	case strings.HasPrefix(w, "<"):
		op, num, used = "<", w[1:], 1
	default:
		return "", 0, 0, fmt.Errorf("prompt_tokens: operator %q is not < or >=", w)
	}
	v, perr := strconv.ParseInt(num, 10, 64)
	if perr != nil || v < 0 {
		return "", 0, 0, fmt.Errorf("prompt_tokens: %q is not a token count", num)
	}
	if op == "<" {
		return condPromptLT, v, used, nil
	}
	return condPromptGE, v, used, nil
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
			op, num, used, err := comparison(words[i+1:])
			if err != nil {
				return nil, err
			}
			c.Is, c.N = op, num
			i += used
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
