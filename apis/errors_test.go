package apis

import (
	"strings"
	"testing"
)

func TestCheckModel(t *testing.T) {
	for _, ok := range []string{"gpt-4o", "meta-llama/llama-3-70b", "[az]gpt", "a.b", "x..y", "claude-sonnet-4-5@20250929", strings.Repeat("m", MaxModelLength)} {
		if e := CheckModel(ok); e != nil {
			t.Errorf("%q refused: %v", ok, e)
		}
	}
	for _, bad := range []string{"", "gpt-4o\xff", "a\nb", "tab\t", "az/..", "az/.", "[az]..", "../x", `a\..`, strings.Repeat("m", MaxModelLength+1)} {
		e := CheckModel(bad)
		if e == nil || e.Status != 400 || e.Param != "model" {
			t.Errorf("%q accepted: %v", bad, e)
		}
	}
}
