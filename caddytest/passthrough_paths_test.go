package integration

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
)

// pathUpstream records what reaches it and answers each path its own way.
type pathUpstream struct {
	*httptest.Server
	mu     sync.Mutex
	method string
	path   string
	query  string
	header http.Header
	size   int64
	sum    []byte
	gate   chan struct{}
}

func newPathUpstream(t *testing.T) *pathUpstream {
	u := &pathUpstream{gate: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *pathUpstream) serve(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, _ := io.Copy(h, r.Body)
	u.mu.Lock()
	u.method, u.path, u.query, u.header, u.size, u.sum = r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), n, h.Sum(nil)
	u.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/events"):
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-u.gate:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: second\n\n")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "session=upstream")
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"file-1","bytes":%d}`, n)
	}
}

func (u *pathUpstream) seen() (string, string, string, http.Header, int64, []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.method, u.path, u.query, u.header, u.size, u.sum
}

// patternReader yields n deterministic bytes without holding them.
type patternReader struct {
	left int64
	h    hash.Hash
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	for i := range b {
		b[i] = byte('a' + (p.left-int64(i))%26)
	}
	p.left -= int64(len(b))
	p.h.Write(b)
	return len(b), nil
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// `passthrough <target>` (SPEC 4): every other path goes to that target
// unchanged with its key; bodies stream both ways.
func TestPassthroughPaths(t *testing.T) {
	up := newPathUpstream(t)
	load(t, router(fmt.Sprintf(`
		target openai {
			base_url %s/v1
			api_key sk-upstream-key-123456
		}
		target m {
			provider mock
		}
		passthrough openai`, up.URL)))

	// GET /v1/responses/{id} with a query: the path after /v1, the query,
	// the target's key instead of the client's.
	r := send(t, t.Context(), http.MethodGet, "/v1/responses/resp_123?include=reasoning.encrypted_content&key=client-secret", "", "Authorization", "Bearer client-key-999")
	expectStatus(t, r, http.StatusCreated)
	method, path, query, header, _, _ := up.seen()
	if method != "GET" || path != "/v1/responses/resp_123" || query != "include=reasoning.encrypted_content" {
		t.Fatalf("upstream saw %s %s ? %s", method, path, query)
	}
	if header.Get("Authorization") != "Bearer sk-upstream-key-123456" || strings.Contains(fmt.Sprint(header), "client-key-999") {
		t.Fatalf("upstream auth %v", header)
	}
	if r.Header.Get("X-Upstream") != "yes" || r.Header.Get("Set-Cookie") != "" {
		t.Fatalf("response headers %v", r.Header)
	}
	// The router's own endpoints still answer themselves.
	expectStatus(t, do(t, "/v1/chat/completions", chat("m/x")), 200)

	// A 200 MB upload streams through without being held in memory.
	const size = 200 << 20
	runtime.GC()
	before := heapBytes()
	stop := make(chan struct{})
	peak := before
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				if h := heapBytes(); h > peak {
					peak = h
				}
			}
		}
	}()
	src := &patternReader{left: size, h: sha256.New()}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/files", src)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, path, _, _, n, sum := up.seen()
	if resp.StatusCode != http.StatusCreated || path != "/v1/files" || n != size || string(sum) != string(src.h.Sum(nil)) {
		t.Fatalf("upload: status %d path %s size %d body %s", resp.StatusCode, path, n, body)
	}
	if grew := int64(peak) - int64(before); grew > 64<<20 {
		t.Fatalf("the heap grew by %d MB during a %d MB upload", grew>>20, size>>20)
	}

	// A streamed answer is flushed event by event.
	sresp := post(t, "/events", "")
	rd := bufio.NewReader(sresp.Body)
	line, err := rd.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event %q %v", line, err)
	}
	close(up.gate)
	rest, _ := io.ReadAll(rd)
	if !strings.Contains(string(rest), "data: second") {
		t.Fatalf("rest %q", rest)
	}
}

// Without `passthrough`, another path is 404 in the OpenAI error shape; a
// target without a key gets the client's (bring your own key).
func TestPassthroughByoKey(t *testing.T) {
	up := newPathUpstream(t)
	load(t, router(`
		target m {
			provider mock
		}`))
	expectError(t, do(t, "/v1/files", "{}"), 404, "not_found")
	load(t, router(fmt.Sprintf(`
		target byok {
			base_url %s/v1
		}
		passthrough byok`, up.URL)))
	r := send(t, t.Context(), http.MethodDelete, "/files/file-1", "", "Authorization", "Bearer sk-client-own")
	expectStatus(t, r, http.StatusCreated)
	method, path, _, header, _, _ := up.seen()
	if method != "DELETE" || path != "/v1/files/file-1" || header.Get("Authorization") != "Bearer sk-client-own" {
		t.Fatalf("%s %s %v", method, path, header)
	}
	// A dead upstream is a 502 naming the target, not its address.
	up.Close()
	r = send(t, t.Context(), http.MethodGet, "/v1/batches", "")
	expectError(t, r, 502, "upstream_error")
	if strings.Contains(string(r.Body), "127.0.0.1") || !strings.Contains(string(r.Body), `target \"byok\"`) {
		t.Fatalf("%s", r.Body)
	}
}
