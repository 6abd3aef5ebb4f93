package providers

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestPassthroughBody(t *testing.T) {
	for _, tc := range []struct {
		name, in, model string
		inject          bool
		want            string
	}{
		{"unchanged", `{"model":"a", "x" : 1.50}`, "a", false, `{"model":"a", "x" : 1.50}`},
		{"model replaced", `{ "model" : "a" ,"x":1e3}`, "b/c\"d", false, `{ "model" : "b/c\"d" ,"x":1e3}`},
		{"usage appended", "{\"model\":\"a\",\"stream\":true}\n", "a", true, "{\"model\":\"a\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}\n"},
		{"usage false flipped", `{"stream_options":{"include_usage":false},"model":"a"}`, "z", true, `{"stream_options":{"include_usage":true},"model":"z"}`},
		{"usage already true", `{"model":"a","stream_options":{"include_usage":true}}`, "a", true, `{"model":"a","stream_options":{"include_usage":true}}`},
		{"stream_options without usage", `{"model":"a","stream_options":{"x":1}}`, "a", true, `{"model":"a","stream_options":{"include_usage":true,"x":1}}`},
		{"empty stream_options", `{"model":"a","stream_options":{ }}`, "a", true, `{"model":"a","stream_options":{"include_usage":true }}`},
		{"null stream_options", `{"model":"a","stream_options":null}`, "bb", true, `{"model":"bb","stream_options":{"include_usage":true}}`},
		{"unicode model", `{"model":"é"}`, "模型", false, `{"model":"模型"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := NewPassthroughBody([]byte(tc.in), tc.model, tc.inject)
			got := string(pb.AppendTo(nil))
			if got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
			if pb.Len() != int64(len(tc.want)) {
				t.Fatalf("Len %d, want %d", pb.Len(), len(tc.want))
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("not JSON: %s", got)
			}
			// Two readers of one body read the same bytes (retries replay it).
			req, _ := http.NewRequest(http.MethodPost, "http://x", nil)
			pb.Attach(req)
			first, _ := io.ReadAll(req.Body)
			again, _ := req.GetBody()
			second, _ := io.ReadAll(again)
			if string(first) != tc.want || string(second) != tc.want || req.ContentLength != int64(len(tc.want)) {
				t.Fatalf("replay: %q / %q (len %d)", first, second, req.ContentLength)
			}
		})
	}
}

// The passthrough body reads the client's bytes in place: building it
// allocates nothing that grows with the body.
func TestPassthroughBodyAllocations(t *testing.T) {
	big := `{"model":"a","messages":[{"role":"user","content":"` + strings.Repeat("x", 1<<20) + `"}],"stream":true}`
	body := []byte(big)
	allocs := testing.AllocsPerRun(20, func() {
		pb := NewPassthroughBody(body, "bbbb", true)
		_, _ = io.Copy(io.Discard, pb.Reader())
	})
	if allocs > 4 {
		t.Fatalf("%.0f allocations per body", allocs)
	}
}

func TestCopyResponseHeaders(t *testing.T) {
	src := http.Header{
		"Content-Type": {"application/json"}, "Set-Cookie": {"a=b"}, "Connection": {"keep-alive, X-Hop"},
		"X-Hop": {"1"}, "Transfer-Encoding": {"chunked"}, "X-Ratelimit-Remaining-Requests": {"99"},
	}
	dst := http.Header{}
	CopyResponseHeaders(dst, src)
	if dst.Get("Content-Type") == "" || dst.Get("X-Ratelimit-Remaining-Requests") != "99" {
		t.Errorf("end-to-end headers lost: %v", dst)
	}
	for _, h := range []string{"Set-Cookie", "Connection", "X-Hop", "Transfer-Encoding"} {
		if dst.Get(h) != "" {
			t.Errorf("%s passed through", h)
		}
	}
}
