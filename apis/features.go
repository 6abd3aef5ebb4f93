package apis

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// Features are what routing conditions (`when`) ask of a request.
type Features struct {
	// PromptTokens is the estimated prompt size (see EstimateTokens).
	PromptTokens int64
	// Images is set when the request carries an image.
	Images bool
	// Tools is set when the request offers tools.
	Tools bool
	// JSON is set when the request asks for a JSON response format.
	JSON bool
}

// Features returns the request's features, computed on first use from the
// body it already holds: the router asks only when a `when` condition is
// configured, so requests without conditions never pay for it.
func (r *Request) Features() Features {
	if !r.featuresDone {
		r.featuresDone = true
		r.features = DetectFeatures(r.Body)
		r.features.PromptTokens = r.PromptTokens()
	}
	return r.features
}

// PromptTokens is the request's estimated prompt tokens: the API's own
// estimate when it set EstimatedPromptTokens, else EstimateTokens of the
// body.
func (r *Request) PromptTokens() int64 {
	if r.EstimatedPromptTokens > 0 {
		return r.EstimatedPromptTokens
	}
	return EstimateTokens(r.Body)
}

// EstimateTokens estimates the tokens of a JSON body at about four bytes
// per token, not counting the runs of base64 data that images and files
// are sent as (an image costs its provider some hundreds of tokens, not
// its size in bytes): the usual rule of thumb for English text and code,
// on the high side for JSON, which is what budgets and limits want.
func EstimateTokens(body []byte) int64 {
	n := int64(len(body))
	// Subtract long unbroken base64 runs (data: URLs, inlineData).
	for i := 0; i < len(body); {
		j := bytes.Index(body[i:], base64Marker)
		if j < 0 {
			break
		}
		start := i + j + len(base64Marker)
		end := start
		for end < len(body) && isBase64(body[end]) {
			end++
		}
		if run := int64(end - start); run > 256 {
			n -= run
			n += 1024 // what an image costs, give or take
		}
		i = end
	}
	return (n + 3) / 4
}

var base64Marker = []byte("base64,")

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

// Markers of an image part in each inbound API's wire format: OpenAI chat
// (`image_url`), Responses (`input_image`), Anthropic (`"type":"image"`),
// Gemini (`inlineData` / `fileData` with an image MIME type).
var imageMarkers = [][]byte{[]byte(`"image_url"`), []byte(`"input_image"`), []byte(`"type":"image"`), []byte(`"type": "image"`), []byte(`"mimeType":"image/`), []byte(`"mime_type":"image/`), []byte(`"mimeType": "image/`)}

// DetectFeatures reads a request body's features in any inbound API's
// format, with substring scans and a few top-level lookups.
func DetectFeatures(body []byte) Features {
	var f Features
	for _, m := range imageMarkers {
		if bytes.Contains(body, m) {
			f.Images = true
			break
		}
	}
	src := llm.BytesString(body)
	top := gjson.GetMany(src, "tools", "response_format.type", "text.format.type", "generationConfig.responseMimeType", "output_format.type")
	f.Tools = top[0].IsArray() && len(top[0].Array()) > 0
	for _, t := range top[1:3] {
		if t.Str == "json_object" || t.Str == "json_schema" {
			f.JSON = true
		}
	}
	if top[3].Str == "application/json" || top[4].Str == "json_schema" {
		f.JSON = true
	}
	return f
}
