package apis

import (
	"bytes"
	"io"

	"github.com/llmrouter/caddy-llm-router/stream"
)

// EachEvent calls f with the name and data of every event of a whole event
// stream that has data, in order, until f returns false. The slices are
// valid only during the call. For Replayers.
func EachEvent(events []byte, f func(name, data []byte) bool) error {
	r := stream.NewReader(bytes.NewReader(events), 0)
	defer r.Release()
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if ev.HasData && !f(ev.Name, ev.Data) {
			return nil
		}
	}
}
