// Package keys is the router keys of llm_router: their configuration
// (KeyConfig, the `key` Caddyfile block), authentication (Set), what each
// may use (Key.AllowsModel, Key.AllowsTarget), what it is limited to
// (Limits, Budget, Period), the `caddy llm-key` command and the admin API's
// `GET /llm_router/keys` (module `admin.api.llm_router_keys`). Counting
// against the limits is the job of package stores.
//
// A handler uses it this way.
//
// At Caddyfile parsing, for each `key` subdirective: UnmarshalKey(d) with d
// on the `key` token; at Validate, Validate(configs).
//
// At Provision:
//
//	set, err := keys.NewSet(h.Keys) // expands {env.*}, hashes the secrets
//	// load the store module (default memory) into st, a stores.Store
//	h.reg = keys.Register(set, st)  // what the admin API lists
//
// At Cleanup: h.reg.Unregister() (safe when Provision failed halfway).
//
// Per request, when set.Len() > 0:
//
//	k, ok := set.Authenticate(keys.FromRequest(r)) // else 401 invalid_api_key
//	k.AllowsModel(model)                          // else 403 model_not_allowed
//	k.AllowsTarget(target)                        // filters the candidates
//	t, d, err := st.Admit(ctx, stores.Admission{Key: k.Limits, Tokens: …, Reserve: …})
//
// and then, as package stores describes: Adjust before each further
// attempt, Settle once at the end.
//
// Secrets never leave this package: a Key holds only the SHA-256 of its
// secret and prints as its name, and no error quotes a secret.
package keys
