package redact

import "net/http"

// ScrubHeader replaces every secret in the values of h, in place.
func (s *Scrubber) ScrubHeader(h http.Header) {
	if s == nil || len(s.secrets) == 0 {
		return
	}
	for _, vs := range h {
		for i, v := range vs {
			vs[i] = s.ScrubString(v)
		}
	}
}

// HeaderContains reports whether a value of h holds a secret.
func (s *Scrubber) HeaderContains(h http.Header) bool {
	if s == nil || len(s.secrets) == 0 {
		return false
	}
	for _, vs := range h {
		for _, v := range vs {
			if hasSecret(s, v) {
				return true
			}
		}
	}
	return false
}
