package llmrouter

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/routing"
)

// member is one candidate: a target and the upstream model to ask it for.
type member struct {
	when   []Condition // all must hold for the member to be a candidate
	target *Target
	model  string // after model_map
	weight int
	price  float64 // input + output per 1M tokens; negative when unpriced
	id     string  // target/model, the stable identity sticky hashing uses
}

func newMember(t *Target, model string, weight int) member {
	model = t.mapModel(model)
	return member{target: t, model: model, weight: weight, price: t.priceSum(model), id: t.Name + "/" + model}
}

// group is an ordered set of candidates with the strategy that orders them.
type group struct {
	members []member
	policy  routing.Policy
	// conditional is set when a member has `when` conditions: the
	// members are then filtered per request.
	conditional bool
}

// mapModel applies the target's model_map.
func (t *Target) mapModel(model string) string {
	if to, ok := t.modelMap[model]; ok {
		return to
	}
	return model
}

// serves reports whether the target's `models` patterns, discovered
// models or model_map client names cover model. A target that lists none —
// no patterns, and no discovered model yet — serves any model; with
// patterns, discovered models are kept only when a pattern matches, so the
// patterns decide.
func (t *Target) serves(model string) bool {
	if len(t.patterns) == 0 {
		l := t.discovered()
		if l.Len() == 0 || l.Has(model) {
			return true
		}
		_, mapped := t.modelMap[model]
		return mapped
	}
	for _, p := range t.patterns {
		if p.Match(model) {
			return true
		}
	}
	_, mapped := t.modelMap[model]
	return mapped
}

// price returns the first price whose pattern matches the upstream model.
func (t *Target) price(model string) (compiledPrice, bool) {
	for _, p := range t.prices {
		if p.pattern.Match(model) {
			return p, true
		}
	}
	return compiledPrice{}, false
}

func (t *Target) priceSum(model string) float64 {
	if p, ok := t.price(model); ok {
		return p.Input + p.Output
	}
	return -1
}

// resolve finds the candidates for a request's model, in the order of
// SPEC 5.1: X-LLM-Target, alias, `<target>/<model>` or `[<target>]<model>`,
// targets whose patterns match. It returns nil when nothing matches.
func (h *Handler) resolve(req *request) (*group, *llm.Error) {
	if name := req.forceTarget; name != "" {
		t, ok := h.targets[name]
		if !ok {
			return nil, errUnknownTarget(name)
		}
		return h.single(t, req.Model), nil
	}
	return h.resolveModel(req.Model)
}

// resolveModel resolves a model name by rules 2 to 5 of SPEC 5.1.
func (h *Handler) resolveModel(model string) (*group, *llm.Error) {
	if a, ok := h.aliases[model]; ok {
		return a.group, nil
	}
	if t, upstream, ok := h.prefixed(model); ok {
		return h.single(t, upstream), nil
	}
	version := h.listVersion()
	if g := h.implicit.get(model, version); g != nil {
		return g, nil
	}
	g := &group{policy: h.policy}
	for _, t := range h.Targets {
		if t.serves(model) {
			g.members = append(g.members, newMember(t, model, t.weight))
		}
	}
	if len(g.members) == 0 {
		return nil, errModelNotFound(model)
	}
	h.implicit.put(model, g, version)
	return g, nil
}

// groupCache keeps the implicit groups built for client models. A group
// never changes once built, but which targets serve a model changes with
// their discovered lists: the cache holds the groups of one version of
// them (see listVersion) and starts afresh for a newer one. It is bounded
// since clients choose the names.
type groupCache struct {
	cur atomic.Pointer[groupGen]
}

// groupGen is the cache's content for one version of the lists.
type groupGen struct {
	version uint64
	m       sync.Map // model → *group
	count   atomic.Int64
}

// maxImplicitGroups bounds the cache of implicit groups per handler.
const maxImplicitGroups = 4096

func (c *groupCache) get(model string, version uint64) *group {
	gen := c.cur.Load()
	if gen == nil || gen.version != version {
		return nil
	}
	if g, ok := gen.m.Load(model); ok {
		return g.(*group)
	}
	return nil
}

// put stores a group built for version, which was read before the lists
// were: a group of an older version than the cache's is dropped.
func (c *groupCache) put(model string, g *group, version uint64) {
	gen := c.cur.Load()
	for gen == nil || gen.version < version {
		if c.cur.CompareAndSwap(gen, &groupGen{version: version}) {
			gen = c.cur.Load()
			break
		}
		gen = c.cur.Load()
	}
	if gen == nil || gen.version != version || gen.count.Load() >= maxImplicitGroups {
		return
	}
	if _, loaded := gen.m.LoadOrStore(model, g); !loaded {
		gen.count.Add(1)
	}
}

func (h *Handler) single(t *Target, model string) *group {
	return &group{members: []member{newMember(t, model, 1)}, policy: routing.Fallback{}}
}

// prefixed splits `<target>/<model>` or `[<target>]<model>` when the
// prefix names a target.
func (h *Handler) prefixed(model string) (*Target, string, bool) {
	var name, rest string
	if strings.HasPrefix(model, "[") {
		end := strings.IndexByte(model, ']')
		if end < 0 {
			return nil, "", false
		}
		name, rest = model[1:end], model[end+1:]
	} else {
		slash := strings.IndexByte(model, '/')
		if slash < 0 {
			return nil, "", false
		}
		name, rest = model[:slash], model[slash+1:]
	}
	t, ok := h.targets[name]
	if !ok || rest == "" {
		return nil, "", false
	}
	return t, rest, true
}
