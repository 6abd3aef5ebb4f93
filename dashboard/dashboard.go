// Package dashboard is the `llm_dashboard` Caddy HTTP handler (SPEC 14): a
// live page about every llm_router of the process, and its data as JSON.
//
// Whatever path its matcher routes to it, the handler serves
//
//   - `<path>/` (and `<path>/index.html`): the page, which loads its
//     embedded script and style by relative URLs and polls `api/status`
//     every second; a path without its trailing slash is redirected to it,
//     so both `llm_dashboard /dashboard*` and `handle_path /dashboard/*`
//     work;
//   - `<path>/app.js`, `<path>/style.css`, `<path>/favicon.svg`: the
//     embedded assets (no CDN, no external font);
//   - `<path>/api/status`: the data, as JSON.
//
// Only GET and HEAD are served. Protect the dashboard as anything else in
// Caddy (basic_auth, remote_ip matchers): it shows target and key names,
// traffic and spend, but never a secret.
//
// # The status JSON
//
//	{
//	  "now": "2025-01-01T12:00:00.250Z",   // server time, RFC 3339, UTC
//	  "targets": [{                        // every target of every loaded llm_router, by name
//	    "name": "openai",
//	    "healthy": false,                  // false while in cooldown
//	    "cooldown_until": "2025-01-01T12:00:30Z", // null unless in cooldown
//	    "latency_ms": 412.5,               // EWMA of time to first byte; null before the first answer
//	    "in_flight": 3,                    // requests in flight now
//	    "requests_5m": 1200,               // requests it answered or failed in the last 5 minutes
//	    "errors_5m": 12                    // of which with a status >= 400, or none (client left)
//	  }],
//	  "keys": [{                           // only when some key is configured
//	    "name": "alice",                   // the key's name, never the key
//	    "rpm": 60, "tpm": 100000,          // limits; 0 = none
//	    "requests_this_minute": 12,
//	    "tokens_this_minute": 5300,
//	    "requests_5m": 40, "errors_5m": 1, // as for targets (in 5-second steps)
//	    "budgets": [{"period": "daily", "limit": 10, "spend": 1.25, "reserved": 0.02, "remaining": 8.73}]
//	  }],
//	  "discovery": [{                      // only when some target has `discover`
//	    "target": "openai",
//	    "models": 42,                      // models found by the last successful fetch
//	    "last_fetch": "2025-01-01T11:55:00Z", // null before the first
//	    "last_error": ""                   // "" when the last fetch succeeded
//	  }],
//	  "series": {                          // the last 15 minutes, one value per second
//	    "start": 1735732801,               // unix second of the first value
//	    "step": 1,                         // seconds per value
//	    "requests": [0, 3, …],             // 900 values each; the last is the current second, still counting
//	    "errors": [0, 0, …],
//	    "cache_hits": [0, 1, …],
//	    "prompt_tokens": [0, 420, …],
//	    "completion_tokens": [0, 96, …],
//	    "cost_usd": [0, 0.00042, …],
//	    "ttfb_ms": [0, 210.5, …],          // mean time to first byte of that second's requests; 0 when none
//	    "duration_ms": [0, 900.1, …]       // mean duration of that second's requests; 0 when none
//	  }
//	}
//
// Targets are listed once per name, sorted by name: a name used with
// different base URLs in several llm_router blocks is merged (in_flight
// summed, healthy only when every one is, the latest cooldown_until, the
// mean of the measured latencies). Keys are sorted by name.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/llmrouter/caddy-llm-router/stats"
)

func init() {
	caddy.RegisterModule(Dashboard{})
}

// Dashboard is the `llm_dashboard` HTTP handler. It has no settings.
type Dashboard struct {
	rec *stats.Recorder
}

// CaddyModule returns the Caddy module information.
func (Dashboard) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.llm_dashboard",
		New: func() caddy.Module { return new(Dashboard) },
	}
}

// Provision reads from the process-wide statistics.
func (d *Dashboard) Provision(caddy.Context) error {
	d.rec = stats.Default()
	return nil
}

// statusPath is where the data is served, under the dashboard's path.
const statusPath = "/api/status"

// ServeHTTP serves the page, its assets and the status JSON.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil
	}
	p := r.URL.Path
	if strings.HasSuffix(p, statusPath) {
		d.serveStatus(w, r)
		return nil
	}
	name := p[strings.LastIndexByte(p, '/')+1:]
	if a, ok := assets[name]; ok && name != "index.html" {
		a.serve(w, r)
		return nil
	}
	if name == "" || name == "index.html" {
		// Under a stripped prefix (handle_path /dashboard*) the path is "/"
		// while the browser is at /dashboard: the page's relative URLs
		// need the slash.
		orig := originalPath(r)
		if name == "" && !strings.HasSuffix(orig, "/") {
			redirect(w, r, orig)
			return nil
		}
		page.serve(w, r)
		return nil
	}
	redirect(w, r, originalPath(r))
	return nil
}

// redirect sends the browser from the dashboard's root without its
// trailing slash to the root with it, by a relative URL that works under
// any prefix.
func redirect(w http.ResponseWriter, r *http.Request, from string) {
	to := from[strings.LastIndexByte(from, '/')+1:] + "/"
	if to == "/" {
		to = "./"
	}
	if r.URL.RawQuery != "" {
		to += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusFound)
}

// originalPath is the path the client asked for, before any rewrite.
func originalPath(r *http.Request) string {
	if or, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && or.URL != nil {
		return or.URL.Path
	}
	return r.URL.Path
}

//go:embed assets
var assetFS embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	name, contentType, etag string
	body                    []byte
}

// csp allows the page its own script, style, icon and data, nothing else.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (a *asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	if a.name == "index.html" {
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
	}
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}

// assets are the embedded files by name; page is index.html.
var assets, page = loadAssets()

func loadAssets() (map[string]*asset, *asset) {
	types := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".svg":  "image/svg+xml",
	}
	out := map[string]*asset{}
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		body, err := assetFS.ReadFile("assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		ext := e.Name()[strings.LastIndexByte(e.Name(), '.'):]
		out[e.Name()] = &asset{
			name: e.Name(), contentType: types[ext], body: body,
			etag: `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
	}
	return out, out["index.html"]
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Dashboard)(nil)
	_ caddyhttp.MiddlewareHandler = (*Dashboard)(nil)
)
