package fakeupstream

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// List formats of NewModelList: each provider's own models list endpoint.
const (
	// ListOpenAI is `GET /v1/models`: `{"object":"list","data":[…]}`, one
	// page (OpenAI's list does not page), `Authorization: Bearer`.
	ListOpenAI = "openai"
	// ListAzure is Azure OpenAI's data-plane deployments list, `GET
	// /openai/deployments?api-version=…` (answered only for the
	// api-versions that had it, up to 2023-03-15-preview; 404 "Resource
	// not found" otherwise, as Azure answers), key in `api-key`.
	ListAzure = "azure"
	// ListAnthropic is the Models API, `GET /v1/models` with `limit`
	// (default 20, 1 to 1000), `after_id` and `before_id`, answering
	// `data`, `has_more`, `first_id` and `last_id`; `x-api-key` and
	// `anthropic-version` required.
	ListAnthropic = "anthropic"
	// ListGemini is models.list, `GET /{version}/models` with `pageSize`
	// (default 50, at most 1000) and `pageToken`, answering `models` and,
	// while more follow, `nextPageToken`; key in `x-goog-api-key` (never
	// `?key=`).
	ListGemini = "gemini"
)

// ListedModel is one model of a fake list.
type ListedModel struct {
	// ID is the model's id (Gemini: the name without `models/`; Azure:
	// the deployment's name).
	ID string
	// Methods are a Gemini model's supportedGenerationMethods. Default:
	// generateContent and countTokens.
	Methods []string
	// Status is an Azure deployment's status. Default: succeeded.
	Status string
}

// ModelList is a fake models list endpoint of one wire format (the List*
// constants). It serves the list from its models, in pages no larger than
// its page size (when set) even if the client asks for more, so that
// paging can be tested; it can require a key, fail, and hold requests
// (a slow upstream); it records and counts every list request. Other paths
// are answered by the Server given to Forward, or 404.
type ModelList struct {
	*httptest.Server
	// Format is one of the List* constants.
	Format string

	mu       sync.Mutex
	models   []ListedModel
	pageSize int
	key      string
	script   []int // statuses of the next list requests
	always   int   // status of every list request after the script
	hold     chan struct{}
	requests []*Request
	arrived  chan struct{}
	next     *Server
}

// NewModelList starts a fake list endpoint of format serving ids.
func NewModelList(tb testing.TB, format string, ids ...string) *ModelList {
	switch format {
	case ListOpenAI, ListAzure, ListAnthropic, ListGemini:
	default:
		tb.Fatalf("fake model list: unknown format %q", format)
	}
	m := &ModelList{Format: format, arrived: make(chan struct{}, 1<<10)}
	m.SetModels(ids...)
	m.Server = httptest.NewUnstartedServer(http.HandlerFunc(m.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("fake model list: %v", err)
	}
	m.Listener = l
	m.Start()
	// Held requests are cut before Close, which would wait for them.
	tb.Cleanup(func() {
		m.CloseClientConnections()
		m.Close()
	})
	return m
}

// BaseURL is the base_url of a target of the fake's format.
func (m *ModelList) BaseURL() string {
	if m.Format == ListOpenAI {
		return m.URL + "/v1"
	}
	return m.URL
}

// SetModels replaces the list by models of these ids.
func (m *ModelList) SetModels(ids ...string) *ModelList {
	models := make([]ListedModel, len(ids))
	for i, id := range ids {
		models[i] = ListedModel{ID: id}
	}
	return m.SetListed(models...)
}

// SetListed replaces the list.
func (m *ModelList) SetListed(models ...ListedModel) *ModelList {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.models = append([]ListedModel(nil), models...)
	return m
}

// PageSize caps the entries of one page (0: only the client's page size
// and the API's own default and maximum count).
func (m *ModelList) PageSize(n int) *ModelList {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pageSize = n
	return m
}

// RequireKey makes a request without this key fail with 401 (Gemini:
// 400 API_KEY_INVALID, as Google answers a wrong key; 403 without one).
func (m *ModelList) RequireKey(key string) *ModelList {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.key = key
	return m
}

// FailNext makes the next n list requests fail with status, in the
// format's error shape.
func (m *ModelList) FailNext(n, status int) *ModelList {
	m.mu.Lock()
	defer m.mu.Unlock()
	for range n {
		m.script = append(m.script, status)
	}
	return m
}

// FailAlways makes every list request after the scripted ones fail with
// status; 0 answers them again.
func (m *ModelList) FailAlways(status int) *ModelList {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.always = status
	return m
}

// Hold makes list requests arriving from now on wait, before any answer,
// until release is called (or their client leaves).
func (m *ModelList) Hold() (release func()) {
	ch := make(chan struct{})
	m.mu.Lock()
	m.hold = ch
	m.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			if m.hold == ch {
				m.hold = nil
			}
			m.mu.Unlock()
			close(ch)
		})
	}
}

// Forward makes every path that is not the list answered by s (e.g. a
// fake of the same format serving chat), recorded there.
func (m *ModelList) Forward(s *Server) *ModelList {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next = s
	return m
}

// Requests returns a copy of the list requests received so far, every
// page counted.
func (m *ModelList) Requests() []*Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*Request(nil), m.requests...)
}

// Count is the number of list requests received, every page counted.
func (m *ModelList) Count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.requests)
}

// Last is the last list request received, or nil.
func (m *ModelList) Last() *Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.requests) == 0 {
		return nil
	}
	return m.requests[len(m.requests)-1]
}

// Listings is the number of first-page requests: how many times a client
// started to read the list.
func (m *ModelList) Listings() int {
	n := 0
	for _, r := range m.Requests() {
		if !strings.Contains(r.Query, "after_id=") && !strings.Contains(r.Query, "pageToken=") {
			n++
		}
	}
	return n
}

// WaitRequests waits until at least n list requests arrived, or the
// timeout.
func (m *ModelList) WaitRequests(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for m.Count() < n {
		select {
		case <-m.arrived:
		case <-deadline.C:
			return m.Count() >= n
		}
	}
	return true
}

// isList reports whether r asks for the format's list.
func (m *ModelList) isList(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	switch m.Format {
	case ListOpenAI, ListAnthropic:
		return r.URL.Path == "/v1/models"
	case ListAzure:
		return r.URL.Path == "/openai/deployments"
	default: // gemini: /{version}/models
		version, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		return ok && version != "" && rest == "models"
	}
}

func (m *ModelList) serve(w http.ResponseWriter, r *http.Request) {
	if !m.isList(r) {
		m.mu.Lock()
		next := m.next
		m.mu.Unlock()
		if next != nil {
			next.Config.Handler.ServeHTTP(w, r)
			return
		}
		m.fail(w, http.StatusNotFound, "fake model list: unknown path "+r.Method+" "+r.URL.Path)
		return
	}
	body, _ := io.ReadAll(r.Body)
	req := &Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, Gone: r.Context().Done(), At: time.Now(),
	}
	m.mu.Lock()
	m.requests = append(m.requests, req)
	status := m.always
	if len(m.script) > 0 {
		status, m.script = m.script[0], m.script[1:]
	}
	hold, key := m.hold, m.key
	models := append([]ListedModel(nil), m.models...)
	pageSize := m.pageSize
	m.mu.Unlock()
	select {
	case m.arrived <- struct{}{}:
	default:
	}
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	if m.refuseAuth(w, r, key) {
		return
	}
	if status != 0 {
		m.fail(w, status, "fake failure from the model list")
		return
	}
	switch m.Format {
	case ListOpenAI:
		m.writeOpenAI(w, models)
	case ListAzure:
		m.writeAzure(w, r, models)
	case ListAnthropic:
		m.writeAnthropic(w, r, models, pageSize)
	default:
		m.writeGemini(w, r, models, pageSize)
	}
}

// refuseAuth answers a request without the key (or, when none is
// required, without any) as the provider would, and reports whether it did.
func (m *ModelList) refuseAuth(w http.ResponseWriter, r *http.Request, key string) bool {
	var got string
	switch m.Format {
	case ListOpenAI:
		got = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	case ListAzure:
		got = r.Header.Get("Api-Key")
	case ListAnthropic:
		if r.Header.Get("Anthropic-Version") == "" {
			m.fail(w, http.StatusBadRequest, "anthropic-version: header is required")
			return true
		}
		got = r.Header.Get("X-Api-Key")
	default:
		if r.URL.Query().Has("key") {
			m.fail(w, http.StatusBadRequest, "fake gemini: the API key must be sent in x-goog-api-key, not in the URL")
			return true
		}
		got = r.Header.Get("X-Goog-Api-Key")
		if got == "" {
			m.fail(w, http.StatusForbidden, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
			return true
		}
		if key != "" && got != key {
			m.fail(w, http.StatusBadRequest, "API key not valid. Please pass a valid API key.")
			return true
		}
		return false
	}
	if key != "" && got != key || got == "" {
		m.fail(w, http.StatusUnauthorized, "invalid api key")
		return true
	}
	return false
}

// fail writes an error in the format's shape.
func (m *ModelList) fail(w http.ResponseWriter, status int, msg string) {
	var body string
	switch m.Format {
	case ListOpenAI:
		body = OpenAIError(status, msg)
	case ListAzure:
		if status == http.StatusNotFound {
			msg = "Resource not found"
		}
		body = `{"error":{"code":"` + strconv.Itoa(status) + `","message":` + quote(msg) + `}}`
	case ListAnthropic:
		body = AnthropicError(status, msg)
	default:
		body = GeminiError(status, msg)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// listCreated is the `created` time of every listed model.
const listCreated = 1715367049

func (m *ModelList) writeOpenAI(w http.ResponseWriter, models []ListedModel) {
	data := make([]map[string]any, len(models))
	for i, md := range models {
		data[i] = map[string]any{"id": md.ID, "object": "model", "created": listCreated, "owned_by": "system"}
	}
	writeJSON(w, map[string]any{"object": "list", "data": data})
}

// azureListVersions are the api-versions whose data plane lists
// deployments.
var azureListVersions = map[string]bool{
	"2022-03-01-preview": true, "2022-06-01-preview": true, "2022-12-01": true, "2023-03-15-preview": true,
}

func (m *ModelList) writeAzure(w http.ResponseWriter, r *http.Request, models []ListedModel) {
	if !azureListVersions[r.URL.Query().Get("api-version")] {
		m.fail(w, http.StatusNotFound, "")
		return
	}
	data := make([]map[string]any, len(models))
	for i, md := range models {
		status := md.Status
		if status == "" {
			status = "succeeded"
		}
		data[i] = map[string]any{
			"scale_settings": map[string]any{"scale_type": "standard"},
			"model":          "gpt-4o", "owner": "organization-owner", "id": md.ID,
			"status": status, "created_at": listCreated, "updated_at": listCreated, "object": "deployment",
		}
	}
	writeJSON(w, map[string]any{"data": data, "object": "list"})
}

// page cuts models[start:] to size entries.
func page(models []ListedModel, start, size int) ([]ListedModel, bool) {
	end := min(start+size, len(models))
	return models[start:end], end < len(models)
}

func (m *ModelList) writeAnthropic(w http.ResponseWriter, r *http.Request, models []ListedModel, pageSize int) {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			m.fail(w, http.StatusBadRequest, "limit: Input should be between 1 and 1000")
			return
		}
		limit = n
	}
	if pageSize > 0 {
		limit = min(limit, pageSize)
	}
	start := 0
	if after := q.Get("after_id"); after != "" {
		start = -1
		for i, md := range models {
			if md.ID == after {
				start = i + 1
			}
		}
		if start < 0 {
			m.fail(w, http.StatusBadRequest, "after_id: unknown model "+after)
			return
		}
	}
	entries, more := page(models, start, limit)
	data := make([]map[string]any, len(entries))
	for i, md := range entries {
		data[i] = map[string]any{
			"type": "model", "id": md.ID, "display_name": md.ID,
			"created_at": time.Unix(listCreated, 0).UTC().Format(time.RFC3339),
		}
	}
	var first, last any
	if len(entries) > 0 {
		first, last = entries[0].ID, entries[len(entries)-1].ID
	}
	writeJSON(w, map[string]any{"data": data, "has_more": more, "first_id": first, "last_id": last})
}

func (m *ModelList) writeGemini(w http.ResponseWriter, r *http.Request, models []ListedModel, pageSize int) {
	q := r.URL.Query()
	size := 50
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			m.fail(w, http.StatusBadRequest, "Invalid value for pageSize")
			return
		}
		if n > 0 {
			size = min(n, 1000)
		}
	}
	if pageSize > 0 {
		size = min(size, pageSize)
	}
	start := 0
	if tok := q.Get("pageToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		n, aerr := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || aerr != nil || !strings.HasPrefix(string(raw), "offset:") || n < 0 || n > len(models) {
			m.fail(w, http.StatusBadRequest, "Invalid page token")
			return
		}
		start = n
	}
	entries, more := page(models, start, size)
	out := make([]map[string]any, len(entries))
	for i, md := range entries {
		methods := md.Methods
		if methods == nil {
			methods = []string{"generateContent", "countTokens"}
		}
		out[i] = map[string]any{
			"name": "models/" + md.ID, "version": "001", "displayName": md.ID,
			"description":     "A fake model.",
			"inputTokenLimit": 1048576, "outputTokenLimit": 8192,
			"supportedGenerationMethods": methods,
		}
	}
	resp := map[string]any{"models": out}
	if more {
		resp["nextPageToken"] = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(start+len(entries))))
	}
	writeJSON(w, resp)
}
