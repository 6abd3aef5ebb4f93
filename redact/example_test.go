package redact_test

import (
	"fmt"
	"net/http"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/llmrouter/caddy-llm-router/redact"
)

func Example() {
	// Once per config: every api_key and every header value.
	s := redact.New("sk-proj-0123456789abcdef", "Bearer org-secret-42")

	fmt.Println(s.ScrubString(`{"error":{"message":"Incorrect API key provided: sk-proj-0123456789abcdef"}}`))
	fmt.Println(s.ScrubString(`{"echo":"sk-proj\u002d0123456789abcdef"}`))
	fmt.Println(s.ScrubString("GET /v1/x?auth=Bearer+org-secret-42"))
	fmt.Println(s.Truncate("<html>bad gateway for Bearer org-secret-42 and so on</html>", 32))
	fmt.Println(s.Truncate("<html>upstream saw key sk-proj-0123", 40))

	h := http.Header{"Www-Authenticate": {`Bearer error="invalid_token" token="Bearer org-secret-42"`}}
	if s.HeaderContains(h) {
		s.ScrubHeader(h)
	}
	fmt.Println(h.Get("Www-Authenticate"))
	// Output:
	// {"error":{"message":"Incorrect API key provided: [redacted]"}}
	// {"echo":"[redacted]"}
	// GET /v1/x?auth=[redacted]
	// <html>bad gateway for [redacted]
	// <html>upstream saw key [redacted]
	// Bearer error="invalid_token" token="[redacted]"
}

func ExampleCore() {
	s := redact.New("sk-proj-0123456789abcdef")
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg"})
	logger := zap.New(zapcore.NewCore(enc, zapcore.AddSync(os.Stdout), zapcore.InfoLevel))

	logger = logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return redact.Core(c, s)
	}))
	logger.Info("upstream failed", zap.String("body", `{"key":"sk-proj-0123456789abcdef"}`))
	// Output:
	// {"msg":"upstream failed","body":"{\"key\":\"[redacted]\"}"}
}
