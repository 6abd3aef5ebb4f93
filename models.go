package llmrouter

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmrouter/caddy-llm-router/apis"
	openaiapi "github.com/llmrouter/caddy-llm-router/apis/openai"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// modelsCache is the models list built for one version of the discovered
// lists (see listVersion).
type modelsCache struct {
	version uint64
	models  []apis.Model
}

// listModels is `GET /v1/models`, built once per version of the discovered
// lists: the aliases in written order (owned by llm_router), then, target
// by target, its non-glob `models` entries and its model_map client names,
// then, target by target, its discovered models that its `models` patterns
// keep; a duplicate keeps its first place. The slice is shared: do not
// modify it.
func (h *Handler) listModels() []apis.Model {
	version := h.listVersion()
	if c := h.modelList.Load(); c != nil && c.version == version {
		return c.models
	}
	models := h.buildModelList()
	// A list built from newer lists than version is stored under version
	// all the same: the next generation rebuilds it.
	h.modelList.Store(&modelsCache{version: version, models: models})
	return models
}

func (h *Handler) buildModelList() []apis.Model {
	seen := make(map[string]bool)
	var out []apis.Model
	add := func(id, owner string) {
		if seen[id] {
			return
		}
		seen[id] = true
		out = append(out, apis.Model{ID: id, OwnedBy: owner, Created: h.created})
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
	for _, t := range h.Targets {
		for _, m := range t.discovered().Filter(t.keepsDiscovered) {
			add(m, t.Name)
		}
	}
	return out
}

// appendModelList renders the list in the shape both OpenAI and Anthropic
// clients read (SPEC 10): OpenAI's `object`/`data`, Anthropic's
// `has_more`/`first_id`/`last_id`.
func appendModelList(b []byte, models []apis.Model) []byte {
	b = append(b, `{"object":"list","data":[`...)
	for i, m := range models {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendModel(b, m)
	}
	b = append(b, `],"has_more":false,"first_id":`...)
	if len(models) > 0 {
		b = llm.AppendString(b, models[0].ID)
		b = append(b, `,"last_id":`...)
		b = llm.AppendString(b, models[len(models)-1].ID)
	} else {
		b = append(b, `null,"last_id":null`...)
	}
	return append(b, '}')
}

// appendModel renders one entry: OpenAI's id, object, created, owned_by
// and Anthropic's type, display_name, created_at.
func appendModel(b []byte, m apis.Model) []byte {
	b = append(b, `{"id":`...)
	b = llm.AppendString(b, m.ID)
	b = append(b, `,"object":"model","created":`...)
	b = strconv.AppendInt(b, m.Created, 10)
	b = append(b, `,"owned_by":`...)
	b = llm.AppendString(b, m.OwnedBy)
	b = append(b, `,"type":"model","display_name":`...)
	b = llm.AppendString(b, m.ID)
	b = append(b, `,"created_at":"`...)
	b = time.Unix(m.Created, 0).UTC().AppendFormat(b, time.RFC3339)
	return append(b, `"}`...)
}

// isModelsPath reports whether path is `/v1/models` or one entry of it.
func isModelsPath(path string) bool {
	path = strings.TrimPrefix(path, "/v1")
	return path == "/models" || strings.HasPrefix(path, "/models/")
}

// serveModels answers a GET or HEAD of a models list, in the union shape
// at `/v1/models` or in an API's own (Gemini's `/v1beta/models`); it
// reports false when path is no models list.
// With router keys, a list needs a key and shows only what it may use.
func (h *Handler) serveModels(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.Path
	for _, api := range h.apis {
		ml, ok := api.(apis.ModelLister)
		if !ok {
			continue
		}
		id, ok := ml.MatchModels(path)
		if !ok {
			continue
		}
		key, ok := h.authenticate(w, r, api.WriteError)
		if !ok {
			return true
		}
		if id == "" {
			writeModels(w, r, ml.AppendModels(nil, h.allowedModels(key, h.listModels())))
		} else if m, ok := h.findModel(id); ok && (key == nil || h.keyMayUse(key, id)) {
			writeModels(w, r, ml.AppendModel(nil, m))
		} else {
			api.WriteError(w, errModelNotFound(id))
		}
		return true
	}
	if !isModelsPath(path) {
		return false
	}
	key, ok := h.authenticate(w, r, openaiapi.WriteError)
	if !ok {
		return true
	}
	var body []byte
	if id, ok := strings.CutPrefix(strings.TrimPrefix(path, "/v1"), "/models/"); ok {
		m, found := h.findModel(id)
		if !found || key != nil && !h.keyMayUse(key, id) {
			openaiapi.WriteError(w, errModelNotFound(id))
			return true
		}
		body = appendModel(nil, m)
	} else {
		body = appendModelList(nil, h.allowedModels(key, h.listModels()))
	}
	writeModels(w, r, body)
	return true
}

func writeModels(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header()["Content-Type"] = jsonContentType
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

var jsonContentType = []string{"application/json"}

// findModel describes one model the router serves: an alias (owned by
// llm_router) or any model a target serves, by name, glob or model_map
// (owned by the first such target, in written order).
func (h *Handler) findModel(id string) (apis.Model, bool) {
	if _, ok := h.aliases[id]; ok {
		return apis.Model{ID: id, OwnedBy: "llm_router", Created: h.created}, true
	}
	if apis.CheckModel(id) != nil {
		return apis.Model{}, false
	}
	if t, _, ok := h.prefixed(id); ok {
		return apis.Model{ID: id, OwnedBy: t.Name, Created: h.created}, true
	}
	for _, t := range h.Targets {
		if t.serves(id) {
			return apis.Model{ID: id, OwnedBy: t.Name, Created: h.created}, true
		}
	}
	return apis.Model{}, false
}
