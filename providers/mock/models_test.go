package mock

import (
	"context"
	"slices"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestListModels(t *testing.T) {
	var p Provider
	if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser("mock {\n models a b\n models c\n}")); err != nil {
		t.Fatal(err)
	}
	got, err := p.ListModels(context.Background(), nil, nil)
	if err != nil || !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("%v %v", got, err)
	}
	got[0] = "changed"
	if p.Models[0] != "a" {
		t.Fatal("the list shares the configured slice")
	}
	if err := new(Provider).UnmarshalCaddyfile(caddyfile.NewTestDispenser("mock {\n models\n}")); err == nil {
		t.Fatal("models without names passed")
	}
}
