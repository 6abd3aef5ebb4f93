package llmrouter

import (
	"net/http"
	"strings"
	"testing"

	"github.com/llmrouter/caddy-llm-router/apis"
)

const resolveConfig = `llm_router {
	target openai {
		base_url http://127.0.0.1:1/v1
		models gpt-* o3
		model_map gpt-4 gpt-4o
	}
	target claude {
		base_url http://127.0.0.1:2/v1
		models claude-*
		model_map sonnet claude-sonnet-4
	}
	target any {
		base_url http://127.0.0.1:3/v1
		weight 0
	}
	model smart {
		strategy fallback
		to claude claude-opus-4
		to openai gpt-4
	}
}`

// Every rule of SPEC 5.1, in order.
func TestResolve(t *testing.T) {
	h := provisioned(t, resolveConfig)
	for _, tc := range []struct {
		name, model, force string
		want               string // target/model of each member, in group order
		status             int
	}{
		{"header wins over alias", "smart", "any", "any/smart", 0},
		{"header with model_map", "gpt-4", "openai", "openai/gpt-4o", 0},
		{"header unknown target", "gpt-4", "ghost", "", http.StatusBadRequest},
		{"alias, model_map applied last", "smart", "", "claude/claude-opus-4 openai/gpt-4o", 0},
		{"target/model", "claude/some-model", "", "claude/some-model", 0},
		{"[target]model", "[openai]whatever", "", "openai/whatever", 0},
		{"prefix mapped", "claude/sonnet", "", "claude/claude-sonnet-4", 0},
		{"unknown prefix falls through", "meta-llama/llama-3-70b", "", "any/meta-llama/llama-3-70b", 0},
		{"patterns in written order", "gpt-4o-mini", "", "openai/gpt-4o-mini any/gpt-4o-mini", 0},
		{"model_map name counts as served", "sonnet", "", "claude/claude-sonnet-4 any/sonnet", 0},
		{"exact pattern", "o3", "", "openai/o3 any/o3", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := h.resolve(&request{Request: &apis.Request{Model: tc.model}, forceTarget: tc.force})
			if tc.status != 0 {
				if err == nil || err.Status != tc.status {
					t.Fatalf("err %v, want status %d", err, tc.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range g.members {
				got = append(got, m.target.Name+"/"+m.model)
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("members %v, want %s", got, tc.want)
			}
		})
	}
}

// Without a catch-all target, an unserved model is 404 model_not_found.
func TestResolveNotFound(t *testing.T) {
	h := provisioned(t, `llm_router {
		target a {
			base_url http://127.0.0.1:1/v1
			models gpt-*
		}
	}`)
	_, e := h.resolve(&request{Request: &apis.Request{Model: "claude-3"}})
	if e == nil || e.Status != http.StatusNotFound || e.Code != "model_not_found" {
		t.Fatalf("err %v", e)
	}
}

// GET /v1/models: aliases first, then each target's non-glob models and
// model_map names, duplicates in their first place.
func TestModelsList(t *testing.T) {
	h := provisioned(t, resolveConfig)
	list := string(appendModelList(nil, h.listModels()))
	ids := []string{}
	for _, part := range strings.Split(list, `"id":`)[1:] {
		ids = append(ids, strings.SplitN(part, `"`, 3)[1])
	}
	if got := strings.Join(ids, ","); got != "smart,o3,gpt-4,sonnet" {
		t.Fatalf("models %s (%s)", got, list)
	}
	if !strings.Contains(list, `{"id":"smart","object":"model","created":`) ||
		!strings.Contains(list, `"owned_by":"claude"`) {
		t.Fatalf("list %s", list)
	}
}
