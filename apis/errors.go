package apis

import (
	"fmt"
	"net/http"
	"strings"
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
// headers, logs, metric labels and upstream paths: empty, longer than
// MaxModelLength bytes, not valid UTF-8, with control characters, or with a
// `.` or `..` path segment (which would climb an upstream URL such as
// Azure's /openai/deployments/{model}/…).
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
	if seg := dotSegment(model); seg != "" {
		return Invalid("model", "'model' must not contain a %q path segment", seg)
	}
	return nil
}

// dotSegment returns "." or ".." when model has such a segment between
// separators (`/`, `[`, `]`, `\`), else "".
func dotSegment(model string) string {
	start := 0
	for i := 0; i <= len(model); i++ {
		if i < len(model) && !strings.ContainsRune("/[]\\", rune(model[i])) {
			continue
		}
		if seg := model[start:i]; seg == "." || seg == ".." {
			return seg
		}
		start = i + 1
	}
	return ""
}
