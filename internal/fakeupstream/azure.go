package fakeupstream

import (
	"net/http"
	"strings"
	"testing"
)

// NewAzure starts a fake Azure OpenAI resource. Its base URL is URL(); it
// serves /openai/deployments/{deployment}/{chat/completions, completions,
// embeddings}?api-version=… in OpenAI's shapes, answering with the
// deployment as the model, and 404 "Resource not found" (Azure's answer)
// when the path or the api-version is wrong. The v1 API's
// /openai/v1/responses (the deployment in the body's `model`, no
// api-version, a key required) answers as the OpenAI fake's Responses API.
// The deployments' media paths (images/generations, images/edits,
// audio/speech, audio/transcriptions, audio/translations) answer as
// OpenAI's, speech as application/octet-stream; images/edits needs
// api-version 2025-04-01-preview or later, and there is no moderations
// endpoint (404), as on Azure.
func NewAzure(tb testing.TB, name string) *Server {
	return start(tb, name, serveAzure)
}

func serveAzure(w http.ResponseWriter, r *http.Request, req *Request, step Step) {
	if r.URL.Path == "/openai/v1/responses" {
		// The v1 API: no deployment in the path, no api-version.
		if r.Header.Get("Api-Key") == "" && r.Header.Get("Authorization") == "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}`))
			return
		}
		r.URL.Path = "/v1/responses"
		serveOpenAI(w, r, req, step)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/openai/deployments/")
	slash := strings.IndexByte(rest, '/')
	if !ok || slash <= 0 || r.URL.Query().Get("api-version") == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"404","message":"Resource not found"}}`))
		return
	}
	if rest[slash:] == "/images/edits" && r.URL.Query().Get("api-version") < "2025-04-01-preview" {
		azureNotFound(w)
		return
	}
	r.URL.Path = "/v1" + rest[slash:]
	serveOpenAIAs(w, r, req, step, true)
}
