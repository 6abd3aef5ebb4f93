package llmrouter

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	openaiapi "github.com/llmrouter/caddy-llm-router/apis/openai"
	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/llmrouter/caddy-llm-router/providers"
	"github.com/llmrouter/caddy-llm-router/stores"
)

// clientCredentials are the headers in which SDKs present a key; the
// passthrough never forwards them as they came.
var clientCredentials = []string{"Authorization", "X-Api-Key", "X-Goog-Api-Key", "Api-Key"}

// newPassthrough builds the proxy of the `passthrough` target (SPEC 4):
// every path the router does not serve goes to that target unchanged —
// method, the path after an optional /v1, query and body, streamed both
// ways and flushed as it comes — with the target's key in its provider's
// own header.
func (h *Handler) newPassthrough(t *Target) *httputil.ReverseProxy {
	proxy, _ := t.provider.(providers.Proxy)
	return &httputil.ReverseProxy{
		Transport:     h.transport,
		FlushInterval: -1,
		Rewrite: func(pr *httputil.ProxyRequest) {
			out := pr.Out
			path := strings.TrimPrefix(pr.In.URL.Path, "/v1")
			query := pr.In.URL.Query()
			clientKey := presentedKey(pr.In.Header, query)
			query.Del("key") // Gemini's key parameter, never forwarded
			rawQuery := query.Encode()
			if pr.In.URL.RawQuery == "" {
				rawQuery = ""
			}
			var target string
			if proxy != nil {
				target = proxy.ProxyURL(&t.upstream, path, rawQuery)
			} else {
				target = providers.JoinURL(t.upstream.BaseURL, path, rawQuery)
			}
			u, err := url.Parse(target)
			if err == nil {
				out.URL = u
			}
			out.Host = ""
			for _, k := range clientCredentials {
				delete(out.Header, k)
			}
			key := t.upstream.APIKey
			if key == "" && !h.keysConfigured {
				key = clientKey // bring your own key
			}
			if key != "" {
				if proxy != nil {
					proxy.Authorize(out.Header, &t.upstream, key)
				} else {
					out.Header["Authorization"] = []string{"Bearer " + key}
				}
			}
			for k, v := range t.upstream.Header {
				out.Header[k] = v
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Del("Set-Cookie")
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client left
			}
			h.logAttemptFailure(t, &llm.Error{Status: http.StatusBadGateway, Message: "passthrough failed", Cause: err})
			openaiapi.WriteError(w, routerError(http.StatusBadGateway, "upstream_error", "target %q: %s", t.Name, failureKind(err)))
		},
	}
}

// presentedKey is the key a client presented in any SDK's way.
func presentedKey(h http.Header, query url.Values) string {
	if k := openaiapi.BearerToken(h.Get("Authorization")); k != "" {
		return k
	}
	for _, name := range []string{"X-Api-Key", "X-Goog-Api-Key", "Api-Key"} {
		if k := h.Get(name); k != "" {
			return k
		}
	}
	return query.Get("key")
}

// provisionPassthrough checks the `passthrough` target and builds its proxy.
func (h *Handler) provisionPassthrough() error {
	if h.Passthrough == "" {
		return nil
	}
	t, ok := h.targets[h.Passthrough]
	if !ok {
		return fmt.Errorf("passthrough: %q names no target", h.Passthrough)
	}
	if t.sender != nil {
		return fmt.Errorf("passthrough: target %q answers in-process (provider mock) and cannot proxy paths", t.Name)
	}
	h.proxy = h.newPassthrough(t)
	return nil
}

// servePassthrough proxies a path the router does not serve. With router
// keys, the key is required and counted against its rpm (a passthrough's
// usage is not parsed: it costs no tokens and no budget).
func (h *Handler) servePassthrough(w http.ResponseWriter, r *http.Request) {
	key, ok := h.authenticate(w, r, openaiapi.WriteError)
	if !ok {
		return
	}
	if key != nil {
		ctx, cancel := storeContext()
		t, d, err := h.store.Admit(ctx, stores.Admission{Key: key.Limits, TTL: h.reserveTTL})
		cancel()
		switch {
		case err != nil:
			recordKeyRequest(key.Name, http.StatusServiceUnavailable)
			openaiapi.WriteError(w, errStoreUnavailable())
			return
		case !d.OK:
			d.SetHeaders(w.Header())
			recordKeyRequest(key.Name, http.StatusTooManyRequests)
			openaiapi.WriteError(w, refusal(d))
			return
		}
		d.SetHeaders(w.Header())
		defer func() {
			ctx, cancel := storeContext()
			defer cancel()
			_ = h.store.Settle(ctx, t, 0, 0)
		}()
		sw := &statusWriter{ResponseWriter: w}
		w = sw
		defer func() { recordKeyRequest(key.Name, sw.status) }()
	}
	h.proxy.ServeHTTP(w, r)
}

// statusWriter remembers the status written, for metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer (the
// proxy flushes through it).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
