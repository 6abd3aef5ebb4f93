package gemini

import (
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// Figures of the countTokens estimate.
const (
	// bytesPerToken is about what Gemini's tokenizer gives for English
	// text and JSON.
	bytesPerToken = 4
	// mediaTokens is what Gemini counts for an image (258 tokens), used
	// for every inline or file part.
	mediaTokens = 258
)

// Answer answers countTokens when no candidate is a gemini target, with
// an estimate (see estimateTokens): `{"totalTokens":n}`. Other operations
// are left to the router.
func (API) Answer(w http.ResponseWriter, req *apis.Request) bool {
	if req.Op != llm.OpGeminiCountTokens {
		return false
	}
	b := append(make([]byte, 0, 32), `{"totalTokens":`...)
	b = strconv.AppendInt(b, estimateTokens(req.Body), 10)
	b = append(b, '}')
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return true
}

// estimateTokens estimates the prompt of any Gemini request: one token per
// four bytes of text (the parts' text, function calls and responses as
// JSON, tool declarations), rounded up, and 258 tokens per inline or file
// part, whatever its size — the base64 of an image says nothing of its
// tokens. It reads contents and systemInstruction (also inside a
// countTokens generateContentRequest), tools, an embedContent's content and
// a batch's requests.
func estimateTokens(body []byte) int64 {
	var textBytes, media int64
	countContent := func(c gjson.Result) {
		c.Get("parts").ForEach(func(_, p gjson.Result) bool {
			switch {
			case p.Get("text").Type == gjson.String:
				textBytes += int64(len(p.Get("text").Str))
			case field(p, "inlineData", "inline_data").Exists(), field(p, "fileData", "file_data").Exists():
				media++
			case field(p, "functionCall", "function_call").Exists(), field(p, "functionResponse", "function_response").Exists():
				textBytes += int64(len(p.Raw))
			}
			return true
		})
	}
	var countRequest func(req gjson.Result, depth int)
	countRequest = func(req gjson.Result, depth int) {
		req.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "contents":
				v.ForEach(func(_, c gjson.Result) bool {
					countContent(c)
					return true
				})
			case "systemInstruction", "system_instruction", "content":
				countContent(v)
			case "tools":
				textBytes += int64(len(v.Raw))
			case "requests":
				v.ForEach(func(_, r gjson.Result) bool {
					countContent(r.Get("content"))
					return true
				})
			case "generateContentRequest", "generate_content_request":
				if depth == 0 {
					countRequest(v, 1)
				}
			}
			return true
		})
	}
	countRequest(gjson.Parse(llm.BytesString(body)), 0)
	return (textBytes+bytesPerToken-1)/bytesPerToken + media*mediaTokens
}
