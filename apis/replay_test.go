package apis

import "testing"

func TestEachEvent(t *testing.T) {
	var got []string
	err := EachEvent([]byte("event: a\ndata: 1\n\n: comment\n\ndata: 2\r\ndata: 3\r\n\r\ndata: [DONE]\n\ndata: 4\n\n"), func(name, data []byte) bool {
		got = append(got, string(name)+"="+string(data))
		return string(data) != "[DONE]"
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a=1", "=2\n3", "=[DONE]"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %q, want %q", i, got[i], want[i])
		}
	}
}
