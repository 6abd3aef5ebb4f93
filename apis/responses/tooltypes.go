package responses

import (
	"github.com/tidwall/gjson"
)

// toolKind is how a tool the request declared is answered: a custom tool
// as a custom_tool_call item, a function of a namespace with its
// namespace.
type toolKind struct {
	custom    bool
	namespace string
}

// toolKinds maps the names of the request's custom and namespaced tools to
// their kind, read from the request's `tools` once, when the first call
// arrives.
type toolKinds struct {
	read  bool
	kinds map[string]toolKind
}

// lookup returns the kind of the tool named name (a plain function when the
// request declared it so, or not at all).
func (k *toolKinds) lookup(tools gjson.Result, name string) toolKind {
	if !k.read {
		k.read = true
		k.load(tools)
	}
	return k.kinds[name]
}

func (k *toolKinds) load(tools gjson.Result) {
	add := func(t gjson.Result, ns string) {
		custom := t.Get("type").Str == "custom"
		if !custom && ns == "" {
			return
		}
		name := t.Get("name").Str
		if _, dup := k.kinds[name]; dup {
			return
		}
		if k.kinds == nil {
			k.kinds = make(map[string]toolKind)
		}
		k.kinds[name] = toolKind{custom: custom, namespace: ns}
	}
	tools.ForEach(func(_, t gjson.Result) bool {
		switch t.Get("type").Str {
		case "custom":
			add(t, "")
		case "namespace":
			ns := t.Get("name").Str
			t.Get("tools").ForEach(func(_, inner gjson.Result) bool {
				add(inner, ns)
				return true
			})
		}
		return true
	})
}
