package stream

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type got struct {
	raw, name, data string
	hasData         bool
}

func readAll(t *testing.T, r io.Reader) ([]got, error) {
	t.Helper()
	sr := NewReader(r, 0)
	defer sr.Release()
	var out []got
	for {
		ev, err := sr.Next()
		if err != nil {
			return out, err
		}
		out = append(out, got{string(ev.Raw), string(ev.Name), string(ev.Data), ev.HasData})
	}
}

func TestReaderEvents(t *testing.T) {
	input := ": keep-alive\n\n" +
		"data: {\"a\":1}\n\n" +
		"event: message_start\r\ndata: {\"b\":2}\r\n\r\n" +
		"data: line one\ndata: line two\ndata:three\n\n" +
		"\n\n" +
		"id: 7\nretry: 100\ndata: [DONE]\n\n"
	events, err := readAll(t, strings.NewReader(input))
	if err != io.EOF {
		t.Fatalf("err %v, want EOF", err)
	}
	want := []got{
		{": keep-alive\n\n", "", "", false},
		{"data: {\"a\":1}\n\n", "", `{"a":1}`, true},
		{"event: message_start\r\ndata: {\"b\":2}\r\n\r\n", "message_start", `{"b":2}`, true},
		{"data: line one\ndata: line two\ndata:three\n\n", "", "line one\nline two\nthree", true},
		{"id: 7\nretry: 100\ndata: [DONE]\n\n", "", "[DONE]", true},
	}
	if len(events) != len(want) {
		t.Fatalf("got %d events: %+v", len(events), events)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Errorf("event %d\n got %+v\nwant %+v", i, events[i], want[i])
		}
	}
	// The raw bytes of all events add up to the input, minus the stray blank lines.
	var joined strings.Builder
	for _, e := range events {
		joined.WriteString(e.raw)
	}
	if joined.String() != strings.Replace(input, "\n\n\n\n", "\n\n", 1) {
		t.Errorf("raw bytes do not reproduce the input")
	}
}

// A data line far longer than the read buffer arrives whole.
func TestReaderLongLine(t *testing.T) {
	long := strings.Repeat("x", 300<<10)
	events, err := readAll(t, iotest.HalfReader(strings.NewReader("data: "+long+"\n\ndata: next\n\n")))
	if err != io.EOF || len(events) != 2 || events[0].data != long || events[1].data != "next" {
		t.Fatalf("err %v, %d events, first data len %d", err, len(events), len(events[0].data))
	}
}

// Events split across many reads, one byte at a time, are reassembled.
func TestReaderOneByteReads(t *testing.T) {
	events, err := readAll(t, iotest.OneByteReader(strings.NewReader("data: a\r\n\r\ndata: b\n\n")))
	if err != io.EOF || len(events) != 2 || events[0].data != "a" || events[1].data != "b" {
		t.Fatalf("err %v events %+v", err, events)
	}
}

// An event cut off by a clean end of input is still returned, whole, then
// EOF.
func TestReaderEventWithoutBlankLine(t *testing.T) {
	for _, end := range []string{"", "\n", "\r\n"} {
		events, err := readAll(t, strings.NewReader("data: a\n\ndata: [DONE]"+end))
		if err != io.EOF || len(events) != 2 || events[1].data != "[DONE]" || !strings.HasSuffix(events[1].raw, "\n\n") {
			t.Fatalf("ending %q: err %v events %+v", end, err, events)
		}
	}
}

// A connection that breaks mid-event reports the read error, not EOF.
func TestReaderBrokenConnection(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: par"), iotest.ErrReader(boom))
	events, err := readAll(t, r)
	if !errors.Is(err, boom) || len(events) != 1 {
		t.Fatalf("err %v events %+v", err, events)
	}
}

func BenchmarkReader(b *testing.B) {
	chunk := "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"},\"finish_reason\":null}]}\n\n"
	input := strings.Repeat(chunk, 100)
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		sr := NewReader(strings.NewReader(input), 0)
		for {
			if _, err := sr.Next(); err != nil {
				break
			}
		}
		sr.Release()
	}
}

// An event longer than the limit fails the read, whether it is one long
// line or many lines, and the limit is not exceeded in memory by much.
func TestReaderLimit(t *testing.T) {
	for _, input := range []string{
		"data: " + strings.Repeat("x", 100<<10) + "\n\n",
		strings.Repeat("data: "+strings.Repeat("y", 1000)+"\n", 100) + "\n",
	} {
		sr := NewReader(strings.NewReader("data: ok\n\n"+input), 50<<10)
		if ev, err := sr.Next(); err != nil || string(ev.Data) != "ok" {
			t.Fatalf("first event: %v", err)
		}
		if _, err := sr.Next(); err != ErrEventTooLarge {
			t.Fatalf("err %v, want ErrEventTooLarge", err)
		}
		sr.Release()
	}
}
