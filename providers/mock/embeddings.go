package mock

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// defaultDimensions is the length of a mock embedding unless the request's
// `dimensions` asks otherwise.
const defaultDimensions = 256

// maxDimensions bounds what a request may ask of the mock.
const maxDimensions = 8192

// embeddings answers an embeddings call: one unit vector per input, the same
// for the same input, usage counted in words.
func embeddings(c *llm.Call) ([]byte, *llm.Error) {
	src := llm.BytesString(c.Body)
	input := gjson.Get(src, "input")
	var inputs []gjson.Result
	switch {
	case input.IsArray():
		inputs = input.Array()
		// An array of token ids is one input.
		if len(inputs) > 0 && inputs[0].Type == gjson.Number {
			inputs = []gjson.Result{input}
		}
	case input.Type == gjson.String:
		inputs = []gjson.Result{input}
	}
	if len(inputs) == 0 {
		return nil, &llm.Error{
			Status: http.StatusBadRequest, Message: "'input' must be a non-empty string or array",
			Type: "invalid_request_error", Code: "invalid_request", Param: "input",
		}
	}
	dims := defaultDimensions
	if d := gjson.Get(src, "dimensions"); d.Exists() {
		if d.Int() < 1 || d.Int() > maxDimensions {
			return nil, &llm.Error{
				Status: http.StatusBadRequest, Message: "'dimensions' must be between 1 and 8192",
				Type: "invalid_request_error", Code: "invalid_request", Param: "dimensions",
			}
		}
		dims = int(d.Int())
	}
	b64 := gjson.Get(src, "encoding_format").Str == "base64"

	var tokens int64
	b := []byte(`{"object":"list","data":[`)
	vec := make([]float32, dims)
	for i, in := range inputs {
		if in.Type == gjson.String {
			tokens += countWords(in.Str)
		} else {
			tokens += int64(len(in.Array()))
		}
		vector(vec, in.Raw)
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		if b64 {
			b = appendBase64(b, vec)
		} else {
			b = appendFloats(b, vec)
		}
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	b = llm.AppendString(b, c.Model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, tokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, tokens, 10)
	return append(b, "}}"...), nil
}

// vector fills v with a unit vector derived from seed by splitmix64.
func vector(v []float32, seed string) {
	h := fnv.New64a()
	h.Write([]byte(seed))
	x := h.Sum64()
	var norm float64
	for i := range v {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		f := float64(z>>11)/float64(1<<53)*2 - 1
		v[i] = float32(f)
		norm += f * f
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
}

func appendFloats(b []byte, v []float32) []byte {
	b = append(b, '[')
	for i, f := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(f), 'g', -1, 32)
	}
	return append(b, ']')
}

func appendBase64(b []byte, v []float32) []byte {
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, raw)
	return append(b, '"')
}
