// Package cache is the response cache of llm_router (SPEC 12): the key of
// a request (its inbound API, operation, model, key name and canonical
// body), the entries (an answer as its first client received it, with its
// usage), two stores — Memory, bounded in bytes with least-recently-used
// eviction, and Redis, shared by every Caddy instance that names the same
// server — and Cache, which puts a store together with flights, so that
// identical requests arriving together send one upstream request.
//
// The package knows no wire format: converting a stored answer to the
// other form (a whole answer to a streamed request, or the reverse) is the
// inbound API's job (apis.Replayer).
package cache
