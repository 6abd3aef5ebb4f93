package keys

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(adminKeys{})
}

// adminKeys serves `GET /llm_router/keys` on Caddy's admin endpoint: per
// key name, its limits, the requests and tokens of the last minute and its
// budgets' spend, reservations and remainders. Never a secret.
type adminKeys struct{}

// CaddyModule returns the Caddy module information.
func (adminKeys) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.llm_router_keys",
		New: func() caddy.Module { return new(adminKeys) },
	}
}

// Routes returns the route of the keys listing.
func (a adminKeys) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/llm_router/keys", Handler: caddy.AdminHandlerFunc(a.serve)}}
}

func (adminKeys) serve(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("method not allowed")}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(Report(r.Context()))
}

// Interface guards
var _ caddy.AdminRouter = (*adminKeys)(nil)
