package llm

import "net/http"

// ResponseWriter is where a provider writes its answer. Headers are staged
// until the first byte of the body (or WriteHeader) commits them; until
// then the router may still retry the request elsewhere.
type ResponseWriter interface {
	http.ResponseWriter
	// Flush sends what was written to the client now.
	Flush() error
	// Committed reports whether the status line was written.
	Committed() bool
}
