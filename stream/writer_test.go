package stream

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Staged headers of a failed attempt vanish; the next attempt's headers and
// the OnCommit hook's reach the client with the first write.
func TestWriterStagesHeadersUntilCommit(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec)
	commits := 0
	w.OnCommit = func(w *Writer) {
		commits++
		w.Header().Set("X-Hook", "1")
	}
	w.Header().Set("X-Failed-Attempt", "yes")
	w.ResetAttempt()
	w.Header().Set("Content-Type", ContentType)
	if w.Committed() || rec.Header().Get("Content-Type") != "" {
		t.Fatal("committed before the first write")
	}
	if err := WriteData(w, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = WriteEvent(w, "message_stop", []byte(`{}`))
	if !w.Committed() || w.Status() != http.StatusOK || commits != 1 {
		t.Fatalf("committed %v status %d commits %d", w.Committed(), w.Status(), commits)
	}
	h := rec.Result().Header
	if h.Get("X-Failed-Attempt") != "" || h.Get("Content-Type") != ContentType || h.Get("X-Hook") != "1" {
		t.Fatalf("headers %v", h)
	}
	if body := rec.Body.String(); body != "data: {\"a\":1}\n\nevent: message_stop\ndata: {}\n\n" {
		t.Fatalf("body %q", body)
	}
	if !rec.Flushed {
		t.Fatal("not flushed")
	}
	if w.BytesWritten() != int64(rec.Body.Len()) {
		t.Fatalf("BytesWritten %d", w.BytesWritten())
	}
}
