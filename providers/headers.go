package providers

import (
	"net/http"
	"strings"
)

// hopHeaders are the hop-by-hop headers of RFC 9110 section 7.6.1 (and the
// de-facto ones the reverse proxy drops), plus Set-Cookie, which an upstream
// API has no business setting on the gateway's clients.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"Alt-Svc", "Set-Cookie",
}

// CopyResponseHeaders copies an OpenAI-compatible upstream's response
// headers to dst, except hop-by-hop headers and Set-Cookie. The value slices
// are shared, not copied.
func CopyResponseHeaders(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
	for _, k := range hopHeaders {
		delete(dst, k)
	}
	// Drop headers named in Connection too (RFC 9110 7.6.1).
	for _, v := range src["Connection"] {
		for _, name := range strings.Split(v, ",") {
			delete(dst, http.CanonicalHeaderKey(strings.TrimSpace(name)))
		}
	}
}

// SetExtraHeaders adds the target's configured `header` fields to req.
func SetExtraHeaders(req *http.Request, extra http.Header) {
	for k, v := range extra {
		req.Header[k] = v
	}
}

// JoinURL is base + path, with rawQuery when it is not empty.
func JoinURL(base, path, rawQuery string) string {
	if rawQuery == "" {
		return base + path
	}
	return base + path + "?" + rawQuery
}
