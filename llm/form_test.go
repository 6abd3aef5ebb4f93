package llm

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"strings"
	"testing"
)

// parts scans body and returns "name=content" (files as "name@size").
func parts(t *testing.T, body, boundary string) ([]string, error) {
	t.Helper()
	var out []string
	err := ScanForm([]byte(body), boundary, func(p FormPart) bool {
		if p.File {
			out = append(out, p.Name+"@"+string(rune('0'+(p.End-p.Start)%10)))
			return true
		}
		out = append(out, p.Name+"="+body[p.Start:p.End])
		return true
	})
	return out, err
}

// A body the way SDKs write it (Go's mime/multipart, as openai-go does):
// the model field after a large file whose bytes contain dashes, CRLFs and
// a look-alike of the boundary, found at its exact offsets.
func TestScanFormAfterLargeFile(t *testing.T) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	file := make([]byte, 3<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range file {
		file[i] = byte(r.UintN(256))
	}
	copy(file[1000:], "\r\n--"+w.Boundary()+"X\r\n") // a longer boundary is content
	copy(file[5000:], "\r\n--"+w.Boundary()[:10])
	fw, _ := w.CreateFormFile("file", "speech.mp3")
	_, _ = fw.Write(file)
	_ = w.WriteField("model", "gpt-4o-transcribe")
	_ = w.WriteField("stream", "true")
	_ = w.Close()
	body := b.Bytes()

	var got []FormPart
	err := ScanForm(body, w.Boundary(), func(p FormPart) bool { got = append(got, p); return true })
	if err != nil || len(got) != 3 {
		t.Fatalf("%v %+v", err, got)
	}
	if got[0].Name != "file" || !got[0].File || !bytes.Equal(body[got[0].Start:got[0].End], file) {
		t.Fatalf("file part %+v", got[0])
	}
	if got[1].Name != "model" || got[1].File || string(body[got[1].Start:got[1].End]) != "gpt-4o-transcribe" {
		t.Fatalf("model part %+v", got[1])
	}
	if got[2].Name != "stream" || string(body[got[2].Start:got[2].End]) != "true" {
		t.Fatalf("stream part %+v", got[2])
	}
	// fn returning false stops the scan.
	n := 0
	_ = ScanForm(body, w.Boundary(), func(FormPart) bool { n++; return false })
	if n != 1 {
		t.Fatalf("%d calls after false", n)
	}
}

func TestScanForm(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
		err        bool
	}{
		{"crlf", "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--b--\r\n", []string{"model=whisper-1"}, false},
		{"lf", "--b\nContent-Disposition: form-data; name=\"model\"\n\nwhisper-1\n--b--\n", []string{"model=whisper-1"}, false},
		{"preamble and epilogue", "ignored\r\n--b\r\nContent-Disposition: form-data; name=model\r\n\r\nm\r\n--b--\r\nepilogue --b\r\n", []string{"model=m"}, false},
		{"padding after boundary", "--b  \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b\t\r\ncontent-disposition:form-data;name=\"b\"\r\n\r\n2\r\n--b--", []string{"a=1", "b=2"}, false},
		{"empty content", "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n\r\n--b--", []string{"model="}, false},
		{"escaped quote", "--b\r\nContent-Disposition: form-data; name=\"mo\\\"del\"\r\n\r\nx\r\n--b--", []string{"mo\"del=x"}, false},
		{"semicolon in quotes", "--b\r\nContent-Disposition: form-data; filename=\"a;name=model\"; name=\"f\"\r\n\r\n1234\r\n--b--", []string{"f@4"}, false},
		{"upper case", "--b\r\nCONTENT-DISPOSITION: FORM-DATA; NAME=\"model\"\r\nContent-Type: text/plain\r\n\r\nm\r\n--b--", []string{"model=m"}, false},
		{"folded header", "--b\r\nContent-Disposition: form-data;\r\n name=\"model\"\r\n\r\nm\r\n--b--", []string{"model=m"}, false},
		{"not form-data", "--b\r\nContent-Disposition: attachment; name=\"model\"\r\n\r\nm\r\n--b--", []string{"=m"}, false},
		{"no disposition", "--b\r\nContent-Type: text/plain\r\n\r\nm\r\n--b--", []string{"=m"}, false},
		{"boundary in content", "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx--b\r\n--bb\r\ny\r\n--b--", []string{"a=x--b\r\n--bb\r\ny"}, false},
		{"cut off", "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm", nil, true},
		{"headers without end", "--b\r\nContent-Disposition: form-data; name=\"model\"", nil, true},
		{"header without colon", "--b\r\nContent-Disposition form-data\r\n\r\nm\r\n--b--", nil, true},
		{"no delimiter", "model=m", nil, true},
		{"rfc 2231 name", "--b\r\nContent-Disposition: form-data; name*=utf-8''model\r\n\r\nm\r\n--b--", nil, true},
		{"two names", "--b\r\nContent-Disposition: form-data; name=\"a\"; name=\"model\"\r\n\r\nm\r\n--b--", nil, true},
		{"unterminated quote", "--b\r\nContent-Disposition: form-data; name=\"model\r\n\r\nm\r\n--b--", nil, true},
		{"garbage parameter", "--b\r\nContent-Disposition: form-data; name=\"model\" junk\r\n\r\nm\r\n--b--", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parts(t, tt.body, "b")
			if (err != nil) != tt.err {
				t.Fatalf("err %v", err)
			}
			if err != nil && !errors.Is(err, ErrForm) {
				t.Fatalf("err %v is not ErrForm", err)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("parts %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormBoundary(t *testing.T) {
	for ct, want := range map[string]string{
		"multipart/form-data; boundary=abc":                         "abc",
		`Multipart/Form-Data; boundary="a b:c"`:                     "a b:c",
		"multipart/form-data":                                       "",
		"multipart/form-datax; boundary=abc":                        "",
		"multipart/mixed; boundary=abc":                             "",
		"application/json":                                          "",
		"multipart/form-data; boundary=" + strings.Repeat("x", 257): "",
	} {
		got, ok := FormBoundary(ct)
		if got != want || ok != (want != "") {
			t.Errorf("%q: %q %v, want %q", ct, got, ok, want)
		}
	}
}

// FuzzScanForm: ScanForm never panics, its parts lie in order inside the
// body, and whenever Go's own multipart reader reads the same body without
// error it sees the same fields with the same contents.
func FuzzScanForm(f *testing.F) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.SetBoundary("xyz")
	fw, _ := w.CreateFormFile("file", "a.wav")
	_, _ = fw.Write([]byte("RIFF\r\n--xy\r\n--xyzz\x00\xff"))
	_ = w.WriteField("model", "whisper-1")
	_ = w.Close()
	f.Add(b.String(), "xyz")
	f.Add("--b\nContent-Disposition: form-data; name=\"model\"\n\nm\n--b--\n", "b")
	f.Add("pre\r\n--b \r\nContent-Disposition: form-data; name=\"a\\\\b\"; filename=\"x\"\r\n\r\n\r\n--b--", "b")
	f.Fuzz(func(t *testing.T, body, boundary string) {
		var got []FormPart
		last := 0
		err := ScanForm([]byte(body), boundary, func(p FormPart) bool {
			if p.Start < last || p.End < p.Start || p.End > len(body) {
				t.Fatalf("part %+v out of order or bounds (body %d bytes)", p, len(body))
			}
			last = p.End
			got = append(got, p)
			return true
		})
		if err != nil || boundary == "" || strings.ContainsAny(boundary, "\r\n") {
			return
		}
		r := multipart.NewReader(strings.NewReader(body), boundary)
		for i := 0; ; i++ {
			p, err := r.NextRawPart()
			if err == io.EOF {
				if i != len(got) {
					t.Fatalf("mime/multipart sees %d parts, ScanForm %d", i, len(got))
				}
				return
			}
			if err != nil {
				return // Go's reader refuses what ScanForm read: no verdict
			}
			content, err := io.ReadAll(p)
			if err != nil {
				return
			}
			if i >= len(got) {
				t.Fatalf("mime/multipart sees more than %d parts", len(got))
			}
			if p.Header.Get("Content-Disposition") != "" && p.FormName() != "" && p.FormName() != got[i].Name {
				t.Fatalf("part %d: name %q, mime/multipart %q", i, got[i].Name, p.FormName())
			}
			if string(content) != body[got[i].Start:got[i].End] {
				t.Fatalf("part %d: content %q, mime/multipart %q", i, body[got[i].Start:got[i].End], content)
			}
		}
	})
}
