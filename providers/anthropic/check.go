package anthropic

import (
	"strings"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// check returns the 400 `unsupported` error for a request the Messages API
// cannot serve without changing its meaning, or nil:
//
//   - the embeddings and legacy completions endpoints;
//   - `n` > 1, `logprobs`, `top_logprobs` (one answer, no log probabilities);
//   - audio output (`audio`, `modalities` with "audio") and `input_audio`
//     parts;
//   - `file` parts other than a PDF given as a data URL;
//   - tools of a type other than "function";
//   - `response_format` other than text, json_object and json_schema, and
//     json_object / json_schema together with `tools` (the format is served
//     through a forced tool, see appendResponseFormat).
//
// Parameters with no equivalent that do not change the answer's meaning
// (`seed`, `presence_penalty`, `frequency_penalty`, `logit_bias`, …) are
// dropped by the translation instead.
func check(c *llm.Call) *llm.Error {
	target := c.Upstream.Name
	switch c.Op {
	case llm.OpChat:
	case llm.OpEmbeddings:
		return llm.Unsupported(target, "/v1/embeddings", "the Anthropic Messages API has no embeddings")
	default:
		return llm.Unsupported(target, "/v1"+c.Op.String(), "the Anthropic Messages API serves chat completions only")
	}
	var (
		e        *llm.Error
		hasTools bool
		format   gjson.Result
	)
	unsupported := func(param, why string) bool {
		e = llm.Unsupported(target, param, why)
		return false
	}
	gjson.Parse(llm.BytesString(c.Body)).ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "n":
			if v.Type == gjson.Number && v.Num > 1 {
				return unsupported("n", "the Messages API returns one choice")
			}
		case "logprobs":
			if v.Type == gjson.True {
				return unsupported("logprobs", "the Messages API returns no log probabilities")
			}
		case "top_logprobs":
			if v.Type == gjson.Number && v.Num > 0 {
				return unsupported("top_logprobs", "the Messages API returns no log probabilities")
			}
		case "audio":
			if v.IsObject() {
				return unsupported("audio", "the Messages API has no audio output")
			}
		case "modalities":
			ok := true
			v.ForEach(func(_, m gjson.Result) bool {
				ok = m.Str != "audio"
				return ok
			})
			if !ok {
				return unsupported("modalities", "the Messages API has no audio output")
			}
		case "tools":
			v.ForEach(func(_, t gjson.Result) bool {
				hasTools = true
				if typ := t.Get("type"); typ.Exists() && typ.Str != "function" {
					unsupported("tools", "only tools of type \"function\" are translated")
				}
				return e == nil
			})
		case "response_format":
			if !format.Exists() {
				format = v
			}
		case "messages":
			if param, why := checkMessages(v); param != "" {
				return unsupported(param, why)
			}
		}
		return e == nil
	})
	if e != nil {
		return e
	}
	if format.IsObject() {
		switch typ := format.Get("type").Str; typ {
		case "", "text":
		case "json_object", "json_schema":
			if hasTools {
				return llm.Unsupported(target, "response_format", typ+" together with tools (it is served through a forced tool)")
			}
		default:
			return llm.Unsupported(target, "response_format", "type "+typ)
		}
	}
	return nil
}

// checkMessages finds content parts that have no Messages API equivalent.
func checkMessages(messages gjson.Result) (param, why string) {
	messages.ForEach(func(_, m gjson.Result) bool {
		content := m.Get("content")
		if !content.IsArray() {
			return true
		}
		content.ForEach(func(_, part gjson.Result) bool {
			switch part.Get("type").Str {
			case "input_audio":
				param, why = "input_audio", "the Messages API takes no audio input"
			case "file":
				if _, ok := pdfData(part.Get("file.file_data").Str); !ok {
					param, why = "file", "only PDF files given as data URLs (file_data) are translated"
				}
			}
			return param == ""
		})
		return param == ""
	})
	return param, why
}

// pdfData returns the base64 payload of a PDF data URL.
func pdfData(url string) (string, bool) {
	media, data, b64, ok := parseDataURL(url)
	if !ok || !b64 || !strings.EqualFold(media, "application/pdf") {
		return "", false
	}
	return data, true
}

// parseDataURL splits `data:<media>[;base64],<data>`.
func parseDataURL(url string) (media, data string, base64, ok bool) {
	rest, found := strings.CutPrefix(url, "data:")
	if !found {
		return "", "", false, false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false, false
	}
	if m, isB64 := strings.CutSuffix(meta, ";base64"); isB64 {
		meta, base64 = m, true
	}
	media, _, _ = strings.Cut(meta, ";")
	return media, data, base64, true
}
