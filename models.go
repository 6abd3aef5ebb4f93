package llmrouter

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/llmrouter/caddy-llm-router/providers"
)

// buildModelsList renders `GET /v1/models` once per config: the aliases in
// written order (owned by llm_router), then, target by target, its
// non-glob `models` entries and its model_map client names; a duplicate
// keeps its first place.
func (h *Handler) buildModelsList() []byte {
	seen := make(map[string]bool)
	b := []byte(`{"object":"list","data":[`)
	first := true
	add := func(id, owner string) {
		if seen[id] {
			return
		}
		seen[id] = true
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendModel(b, id, owner, h.created)
	}
	for _, a := range h.Models {
		add(a.Name, "llm_router")
	}
	for _, t := range h.Targets {
		for _, m := range t.exact {
			add(m, t.Name)
		}
		for _, m := range t.ModelMap {
			add(m.From, t.Name)
		}
	}
	return append(b, "]}"...)
}

func appendModel(b []byte, id, owner string, created int64) []byte {
	b = append(b, `{"id":`...)
	b = providers.AppendString(b, id)
	b = append(b, `,"object":"model","created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"owned_by":`...)
	b = providers.AppendString(b, owner)
	return append(b, '}')
}

// serveModels answers `GET /v1/models` and `GET /v1/models/{id}`.
func (h *Handler) serveModels(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, errMethod(r.Method, r.URL.Path))
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	body := h.modelsList
	if id, ok := strings.CutPrefix(path, "/models/"); ok {
		body = h.findModel(id)
		if body == nil {
			writeError(w, errModelNotFound(id))
			return
		}
	}
	w.Header()["Content-Type"] = jsonContentType
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// findModel renders one entry of the list, or nil.
func (h *Handler) findModel(id string) []byte {
	created := h.created
	if _, ok := h.aliases[id]; ok {
		return appendModel(nil, id, "llm_router", created)
	}
	for _, t := range h.Targets {
		for _, m := range t.exact {
			if m == id {
				return appendModel(nil, id, t.Name, created)
			}
		}
		if _, ok := t.modelMap[id]; ok {
			return appendModel(nil, id, t.Name, created)
		}
	}
	return nil
}
