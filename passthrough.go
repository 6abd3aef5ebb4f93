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
