package apis

import (
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/llmrouter/caddy-llm-router/llm"
)

// MaxModelLength is the longest model name accepted, in bytes.
const MaxModelLength = 256

// Invalid is the 400 invalid_request error for a parameter.
func Invalid(param, format string, args ...any) *llm.Error {
	return &llm.Error{
		Status: http.StatusBadRequest, Code: "invalid_request", Type: "invalid_request_error",
		Param: param, Message: fmt.Sprintf(format, args...),
	}
}

// CheckModel refuses a model name the router cannot carry safely into
// headers, logs and metric labels: empty, longer than MaxModelLength bytes,
// or not valid UTF-8.
func CheckModel(model string) *llm.Error {
	switch {
	case model == "":
		return Invalid("model", "'model' must not be empty")
	case len(model) > MaxModelLength:
		return Invalid("model", "'model' is longer than %d bytes", MaxModelLength)
	case !utf8.ValidString(model):
		return Invalid("model", "'model' is not valid UTF-8")
	}
	for i := 0; i < len(model); i++ {
		if c := model[i]; c < 0x20 || c == 0x7f {
			return Invalid("model", "'model' contains a control character")
		}
	}
	return nil
}
