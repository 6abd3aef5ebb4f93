package gemini

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// translateEmbeddings appends the batchEmbedContents request for an OpenAI
// embeddings request: one EmbedContentRequest per input string, with
// `dimensions` as outputDimensionality.
func translateEmbeddings(b []byte, c *llm.Call) ([]byte, *llm.Error) {
	src := llm.BytesString(c.Body)
	input := gjson.Get(src, "input")
	var inputs []gjson.Result
	switch {
	case input.Type == gjson.String:
		inputs = []gjson.Result{input}
	case input.IsArray():
		inputs = input.Array()
	}
	if len(inputs) == 0 {
		return nil, invalid("input", "'input' must be a non-empty string or array of strings")
	}
	dims := gjson.Get(src, "dimensions")
	model := "models/" + strings.TrimPrefix(c.Model, "models/")
	if b == nil {
		b = make([]byte, 0, len(c.Body)+len(inputs)*(len(model)+64))
	}
	b = append(b, `{"requests":[`...)
	for i, in := range inputs {
		if in.Type != gjson.String {
			return nil, invalid("input", "'input' must be a string or an array of strings; token arrays cannot be sent to Gemini")
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"model":`...)
		b = llm.AppendString(b, model)
		b = append(b, `,"content":{"parts":[{"text":`...)
		b = llm.AppendString(b, in.Str)
		b = append(b, `}]}`...)
		if dims.Type == gjson.Number {
			b = append(b, `,"outputDimensionality":`...)
			b = append(b, dims.Raw...)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// writeEmbeddings translates a batchEmbedContents answer to an OpenAI
// embeddings list (floats, or base64 of little-endian float32 when the
// client asked for encoding_format base64).
func writeEmbeddings(w llm.ResponseWriter, resp *http.Response, c *llm.Call) (llm.Usage, error) {
	buf, err := llm.ReadAll(resp.Body, resp.ContentLength, c.MaxResponseBody)
	if err != nil {
		return llm.Usage{}, err
	}
	defer llm.PutBuffer(buf)
	out, usage, perr := translateEmbeddingsResponse(make([]byte, 0, buf.Len()/2+256), buf.Bytes(), c)
	if perr != nil {
		return usage, perr
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(out)
	return usage, err
}

// translateEmbeddingsResponse appends the OpenAI embeddings list for a
// BatchEmbedContentsResponse. Usage is Gemini's usageMetadata when it
// sends one; batchEmbedContents usually does not, and then the prompt
// tokens are estimated at one per four bytes of input text (at least one
// per input), since OpenAI clients expect a count.
func translateEmbeddingsResponse(b, body []byte, c *llm.Call) ([]byte, llm.Usage, *llm.Error) {
	src := llm.BytesString(body)
	if !gjson.Valid(src) {
		return nil, llm.Usage{}, unreadable("embeddings response")
	}
	doc := gjson.Parse(src)
	if e := doc.Get("error"); e.IsObject() {
		return nil, llm.Usage{}, streamError(e)
	}
	embeddings := doc.Get("embeddings")
	if !embeddings.IsArray() {
		return nil, llm.Usage{}, unreadable("embeddings response")
	}
	b64 := gjson.Get(llm.BytesString(c.Body), "encoding_format").Str == "base64"
	b = append(b, `{"object":"list","data":[`...)
	i := 0
	var raw []byte
	embeddings.ForEach(func(_, e gjson.Result) bool {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		values := e.Get("values")
		if b64 {
			raw = raw[:0]
			values.ForEach(func(_, v gjson.Result) bool {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(v.Float())))
				return true
			})
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, raw)
			b = append(b, '"')
		} else {
			b = append(b, '[')
			k := 0
			values.ForEach(func(_, v gjson.Result) bool {
				if v.Type != gjson.Number {
					return true
				}
				if k > 0 {
					b = append(b, ',')
				}
				k++
				b = append(b, v.Raw...)
				return true
			})
			b = append(b, ']')
		}
		b = append(b, '}')
		i++
		return true
	})
	b = append(b, `],"model":`...)
	b = llm.AppendString(b, c.Model)
	prompt := doc.Get("usageMetadata.promptTokenCount").Int()
	if prompt == 0 {
		prompt = estimateInputTokens(c.Body)
	}
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, prompt, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, prompt, 10)
	b = append(b, "}}"...)
	return b, llm.Usage{PromptTokens: prompt}, nil
}

// estimateInputTokens is about one token per four bytes of each input, at
// least one per input.
func estimateInputTokens(body []byte) int64 {
	var n int64
	count := func(s string) {
		n += max(int64(len(s)+3)/4, 1)
	}
	input := gjson.Get(llm.BytesString(body), "input")
	if input.Type == gjson.String {
		count(input.Str)
	}
	if input.IsArray() {
		input.ForEach(func(_, v gjson.Result) bool {
			count(v.Str)
			return true
		})
	}
	return n
}
