package llmrouter

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestCacheCaddyfile(t *testing.T) {
	h, err := parse(t, `llm_router {
		target a {
			base_url https://example.com/v1
		}
		cache 10m {
			max_size 1MiB
		}
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if c := h.Cache; c == nil || time.Duration(c.TTL) != 10*time.Minute || c.MaxSize != 1<<20 || c.Redis != "" {
		t.Errorf("cache %+v", h.Cache)
	}
	h, err = parse(t, "llm_router {\n cache {\n redis redis://127.0.0.1:6379/2\n }\n}")
	if err != nil || h.Cache == nil || h.Cache.Redis != "redis://127.0.0.1:6379/2" || h.Cache.TTL != 0 {
		t.Errorf("cache %+v, %v", h.Cache, err)
	}
	if h, err = parse(t, "llm_router {\n cache\n}"); err != nil || h.Cache == nil {
		t.Errorf("a bare cache: %+v, %v", h.Cache, err)
	}
	for in, want := range map[string]string{
		"cache soon":                           "is not a duration",
		"cache 1h 2h":                          "unexpected argument",
		"cache {\n size 1\n }":                 "unrecognized option",
		"cache {\n max_size lots\n }":          "is not a size",
		"cache {\n redis http://x\n }":         "invalid url",
		"cache {\n redis redis://:pw@h:1 x\n}": "expected one URL",
		"cache\n cache":                        "given twice",
	} {
		_, err := parse(t, "llm_router {\n "+in+"\n}")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%q: the error quotes the password: %v", in, err)
		}
	}
}

// countingUpstream answers chat requests like benchUpstream and counts
// them.
func countingUpstream(t testing.TB, calls *atomic.Int32) *httptest.Server {
	inner := benchUpstream(t, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		req, _ := http.NewRequest(r.Method, inner.URL+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func serveChat(t *testing.T, h *Handler, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, nil)
	if err := h.ServeHTTP(w, r, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestCacheThroughHandler(t *testing.T) {
	var calls atomic.Int32
	up := countingUpstream(t, &calls)
	h := provisioned(t, "llm_router {\n target a {\n  base_url "+up.URL+"/v1\n }\n cache\n}")
	first := serveChat(t, h, benchBody)
	if first.Code != 200 || first.Header().Get("X-LLM-Cache") != "miss" || calls.Load() != 1 {
		t.Fatalf("first: %d, cache %q, %d calls", first.Code, first.Header().Get("X-LLM-Cache"), calls.Load())
	}
	// The same request, written another way.
	same := `{ "temperature": 0.7, "user": "u1",
		"messages": [{"content":"You are a helpful assistant.","role":"system"},{"role":"user","content":"Hello! Please say hello back."}],
		"model": "gpt-4o-mini" }`
	hit := serveChat(t, h, same)
	if hit.Code != 200 || hit.Header().Get("X-LLM-Cache") != "hit" || hit.Header().Get("X-LLM-Attempts") != "0" ||
		hit.Header().Get("X-LLM-Target") != "a" || hit.Header().Get("Content-Type") != "application/json" {
		t.Errorf("hit: %d %v", hit.Code, hit.Header())
	}
	if !bytes.Equal(hit.Body.Bytes(), first.Body.Bytes()) {
		t.Errorf("the hit's body differs:\n%s\n%s", hit.Body, first.Body)
	}
	// Streamed: the stored answer as events.
	stream := serveChat(t, h, strings.Replace(benchBody, `"temperature"`, `"stream":true,"temperature"`, 1))
	if stream.Header().Get("X-LLM-Cache") != "hit" || stream.Header().Get("Content-Type") != "text/event-stream" ||
		!strings.Contains(stream.Body.String(), `"object":"chat.completion.chunk"`) || !strings.HasSuffix(stream.Body.String(), "data: [DONE]\n\n") {
		t.Errorf("streamed hit: %v\n%s", stream.Header(), stream.Body)
	}
	if calls.Load() != 1 {
		t.Errorf("%d upstream calls, want 1", calls.Load())
	}
	// no-cache goes upstream (and stores), no-store is served.
	if w := serveChat(t, h, benchBody, "Cache-Control", "no-cache"); w.Header().Get("X-LLM-Cache") != "miss" || calls.Load() != 2 {
		t.Errorf("no-cache: %q, %d calls", w.Header().Get("X-LLM-Cache"), calls.Load())
	}
	if w := serveChat(t, h, benchBody, "Cache-Control", "no-store"); w.Header().Get("X-LLM-Cache") != "hit" {
		t.Errorf("no-store: %q", w.Header().Get("X-LLM-Cache"))
	}
	other := strings.Replace(benchBody, "0.7", "0.8", 1)
	serveChat(t, h, other, "Cache-Control", "max-age=0, No-Store")
	if w := serveChat(t, h, other); w.Header().Get("X-LLM-Cache") != "miss" || calls.Load() != 4 {
		t.Errorf("an answer asked no-store was stored: %q, %d calls", w.Header().Get("X-LLM-Cache"), calls.Load())
	}
}

// BenchmarkCacheHit is one non-streamed request answered from the memory
// cache (compare BenchmarkPassthrough, and bench/'s BenchmarkReverseProxy).
func BenchmarkCacheHit(b *testing.B) {
	up := benchUpstream(b, 0)
	h := provisioned(b, "llm_router {\n target a {\n  base_url "+up.URL+"/v1\n }\n cache\n}")
	benchServe(b, h, benchBody)
}

// BenchmarkCacheHitStream is one streamed request of 50 chunks answered
// from the memory cache.
func BenchmarkCacheHitStream(b *testing.B) {
	up := benchUpstream(b, 50)
	h := provisioned(b, "llm_router {\n target a {\n  base_url "+up.URL+"/v1\n }\n cache\n}")
	benchServe(b, h, strings.Replace(benchBody, `"temperature"`, `"stream":true,"temperature"`, 1))
}
