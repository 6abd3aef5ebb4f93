package keys

import (
	"net/http"
	"net/url"
	"strings"
)

// FromRequest returns the key a client presented, in whichever way its
// API's SDK sends it: `Authorization: Bearer <key>` (OpenAI SDKs, Claude
// Code's ANTHROPIC_AUTH_TOKEN), `x-api-key` (Anthropic SDKs),
// `x-goog-api-key` or the query parameter `key` (Google Gen AI SDKs), in
// that order. It returns "" when there is none. It allocates only to
// unescape an escaped query parameter.
func FromRequest(r *http.Request) string {
	if k := Bearer(r.Header.Get("Authorization")); k != "" {
		return k
	}
	if k := strings.TrimSpace(r.Header.Get("X-Api-Key")); k != "" {
		return k
	}
	if k := strings.TrimSpace(r.Header.Get("X-Goog-Api-Key")); k != "" {
		return k
	}
	if r.URL != nil {
		return queryKey(r.URL.RawQuery)
	}
	return ""
}

// Bearer returns the token of an `Authorization: Bearer <token>` value
// (scheme case-insensitive), or "".
func Bearer(auth string) string {
	const prefix = "Bearer "
	if len(auth) > len(prefix) && strings.EqualFold(auth[:len(prefix)], prefix) {
		return strings.TrimSpace(auth[len(prefix):])
	}
	return ""
}

// queryKey returns the first non-empty `key` parameter of a raw query.
func queryKey(q string) string {
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		name, value, _ := strings.Cut(pair, "=")
		if name != "key" || value == "" {
			continue
		}
		if strings.ContainsAny(value, "%+") {
			v, err := url.QueryUnescape(value)
			if err != nil {
				continue
			}
			value = v
		}
		if value = strings.TrimSpace(value); value != "" {
			return value
		}
	}
	return ""
}
