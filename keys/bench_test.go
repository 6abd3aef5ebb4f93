package keys

import (
	"fmt"
	"testing"
)

// BenchmarkAuthenticate: one presented key against 10 and 100 keys.
func BenchmarkAuthenticate(b *testing.B) {
	for _, n := range []int{10, 100} {
		var cfgs []KeyConfig
		for i := range n {
			cfgs = append(cfgs, KeyConfig{Secret: fmt.Sprintf("sk-llmr-%043d", i), Name: fmt.Sprint(i)})
		}
		s, err := NewSet(cfgs)
		if err != nil {
			b.Fatal(err)
		}
		presented := fmt.Sprintf("sk-llmr-%043d", n-1)
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := s.Authenticate(presented); !ok {
					b.Fatal("not authenticated")
				}
			}
		})
	}
}
