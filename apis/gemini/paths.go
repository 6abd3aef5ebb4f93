package gemini

import (
	"strings"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// modelPrefixes are where model methods live: Gemini's own versions, and
// no version at all (a base URL that already ends in one).
var modelPrefixes = []string{"/v1beta/models/", "/v1/models/", "/models/"}

// Match serves `POST /v1beta/models/{model}:{method}` (also under
// /v1/models/ and /models/) for the methods generateContent,
// streamGenerateContent, countTokens, embedContent and batchEmbedContents.
// The model is everything between the prefix and the last colon, so names
// with slashes (`target/model`) or colons (`llama3:8b`) work; a `models/`
// prefix the client repeated is dropped by Parse.
func (API) Match(path string) (apis.Route, bool) {
	rest, ok := cutModelPrefix(path)
	if !ok {
		return apis.Route{}, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return apis.Route{}, false
	}
	rt := apis.Route{Model: rest[:i]}
	switch rest[i+1:] {
	case "generateContent":
		rt.Op = llm.OpGenerateContent
	case "streamGenerateContent":
		rt.Op, rt.Stream = llm.OpGenerateContent, true
	case "countTokens":
		rt.Op = llm.OpGeminiCountTokens
	case "embedContent":
		rt.Op = llm.OpEmbedContent
	case "batchEmbedContents":
		rt.Op = llm.OpBatchEmbedContents
	default:
		return apis.Route{}, false
	}
	return rt, true
}

func cutModelPrefix(path string) (string, bool) {
	for _, p := range modelPrefixes {
		if rest, ok := strings.CutPrefix(path, p); ok {
			return rest, true
		}
	}
	return "", false
}

// MatchModels reports whether path is Gemini's models list,
// `/v1beta/models`, or one entry of it, `/v1beta/models/{id}` (id without
// a method suffix). `/v1/models` is the union list every client reads, so
// only the v1beta path is Gemini's.
func (API) MatchModels(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/v1beta/models")
	switch {
	case !ok:
		return "", false
	case rest == "" || rest == "/":
		return "", true
	case rest[0] != '/':
		return "", false
	}
	id := strings.TrimPrefix(rest[1:], "models/")
	if id == "" || strings.ContainsRune(id, ':') {
		return "", false // a method: Match's, which answers 405 to a GET
	}
	return id, true
}
