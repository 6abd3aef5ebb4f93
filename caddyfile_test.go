package llmrouter

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func parse(t *testing.T, input string) (*Handler, error) {
	t.Helper()
	h := new(Handler)
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
	return h, err
}

func TestCaddyfileEverySubdirective(t *testing.T) {
	h, err := parse(t, `llm_router {
		target a {
			provider openai
			base_url https://example.com/v1
			api_key {env.KEY}
			api_version 2024-01-01
			models m1 m2*
			model_map x y
			weight 4
			timeout 30s
			first_byte_timeout 2s
			header X-A 1
			header X-A 2
			price m* 1.5 3
			price n* 1 2 cache_read 0.1 cache_write 1.25
			idle_timeout 1m
			max_in_flight 10
		}
		target m {
			provider mock
			mock_response hi
			mock_delay 1ms
		}
		model alias {
			strategy latency
			to a m1 weight 2
			to m
		}
		strategy sticky
		retries 0
		retry_backoff 10ms 1s
		retry_on 500 timeout connect
		fallback alias a/m1
		cooldown 0 1s
		max_request_body 1KiB
		max_response_body 2MiB
	}`)
	if err != nil {
		t.Fatal(err)
	}
	a := h.Targets[0]
	switch {
	case a.Name != "a", a.BaseURL != "https://example.com/v1", a.APIKey != "{env.KEY}", a.APIVersion != "2024-01-01":
		t.Errorf("target basics: %+v", a)
	case strings.Join(a.Models, ",") != "m1,m2*", len(a.ModelMap) != 1 || a.ModelMap[0] != (ModelMapping{"x", "y"}):
		t.Errorf("models: %+v %+v", a.Models, a.ModelMap)
	case *a.Weight != 4, int64(a.Timeout) != 30e9, int64(a.FirstByteTimeout) != 2e9, int64(a.IdleTimeout) != 60e9:
		t.Errorf("weight/timeouts: %+v", a)
	case strings.Join(a.Headers["X-A"], ",") != "1,2", len(a.Prices) != 2 || a.Prices[0] != (Price{Pattern: "m*", Input: 1.5, Output: 3}), a.MaxInFlight != 10:
		t.Errorf("headers/prices/max_in_flight: %+v", a)
	}
	if p := a.Prices[1]; *p.CacheRead != 0.1 || *p.CacheWrite != 1.25 || h.MaxResponseBody != 2<<20 {
		t.Errorf("cache prices / max_response_body: %+v %d", p, h.MaxResponseBody)
	}
	if !strings.Contains(string(h.Targets[1].ProviderRaw), `"response":"hi"`) || !strings.Contains(string(h.Targets[1].ProviderRaw), `"delay":1000000`) {
		t.Errorf("mock provider JSON: %s", h.Targets[1].ProviderRaw)
	}
	m := h.Models[0]
	if m.Name != "alias" || len(m.To) != 2 || m.To[0].Model != "m1" || *m.To[0].Weight != 2 || m.To[1].Target != "m" || m.To[1].Weight != nil {
		t.Errorf("model: %+v", m)
	}
	if string(m.StrategyRaw) != `{"policy":"latency"}` || string(h.StrategyRaw) != `{"policy":"sticky"}` {
		t.Errorf("strategies: %s %s", m.StrategyRaw, h.StrategyRaw)
	}
	if *h.Retries != 0 || int64(h.RetryBackoff.Base) != 10e6 || int64(h.RetryBackoff.Max) != 1e9 ||
		strings.Join(h.RetryOn, ",") != "500,timeout,connect" || strings.Join(h.Fallback, ",") != "alias,a/m1" ||
		h.Cooldown.Failures == nil || *h.Cooldown.Failures != 0 || h.MaxRequestBody != 1024 {
		t.Errorf("router settings: %+v", h)
	}
}

// Each kind of config error is refused with a message naming the file, the
// line and the directive.
func TestCaddyfileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, input, want string
	}{
		{"unknown subdirective", "llm_router {\n target a {\n  bogus 1\n }\n}", `unrecognized subdirective "bogus"|Testfile:3`},
		{"unknown top-level", "llm_router {\n nope\n}", `unrecognized subdirective "nope"|Testfile:2`},
		{"to names no target", "llm_router {\n target a\n model m {\n  to a\n  to ghost\n }\n}", `to: "ghost" names no target|Testfile:5`},
		{"bad duration", "llm_router {\n target a {\n  timeout soon\n }\n}", `timeout: "soon" is not a duration|Testfile:3`},
		{"zero timeout", "llm_router {\n target a {\n  timeout 0s\n }\n}", `timeout: must be above zero|Testfile:3`},
		{"negative weight", "llm_router {\n target a {\n  weight -1\n }\n}", `weight: "-1" must be an integer of at least 0|Testfile:3`},
		{"negative member weight", "llm_router {\n target a\n model m {\n  to a x weight -2\n }\n}", `to: weight "-2" must be a non-negative integer|Testfile:4`},
		{"unknown provider", "llm_router {\n target a {\n  provider nosuch\n }\n}", `provider: unknown provider "nosuch"|Testfile:3`},
		{"unknown strategy", "llm_router {\n strategy random\n}", `strategy: unknown strategy "random"|Testfile:2`},
		{"bad retry_on", "llm_router {\n retry_on 42x\n}", `retry_on: "42x" is not an HTTP status code|Testfile:2`},
		{"bad price", "llm_router {\n target a {\n  price gpt* cheap 1\n }\n}", `price: "cheap" and "1" must be non-negative numbers|Testfile:3`},
		{"price arity", "llm_router {\n target a {\n  price gpt* 1\n }\n}", `price: expected|Testfile:3`},
		{"bad size", "llm_router {\n max_request_body lots\n}", `max_request_body: "lots" is not a size|Testfile:2`},
		{"backoff order", "llm_router {\n retry_backoff 5s 1s\n}", `retry_backoff: base 5s is above max 1s|Testfile:2`},
		{"cooldown arity", "llm_router {\n cooldown 3\n}", `cooldown: expected a duration|Testfile:2`},
		{"model without to", "llm_router {\n target a\n model m {\n }\n}", `needs at least one`},
		{"duplicate target", "llm_router {\n target a\n target a\n}", `target "a": defined twice|Testfile:3`},
		{"mock option on openai", "llm_router {\n target a {\n  mock_delay 1s\n }\n}", `unrecognized subdirective "mock_delay"|Testfile:3`},
		{"bad mock delay", "llm_router {\n target a {\n  provider mock\n  mock_delay forever\n }\n}", `mock_delay:|Testfile:4`},
		{"max_in_flight zero", "llm_router {\n target a {\n  max_in_flight 0\n }\n}", `max_in_flight: "0" must be an integer of at least 1|Testfile:3`},
		{"to arity", "llm_router {\n target a\n model m {\n  to a x y z\n }\n}", `to: expected|Testfile:4`},
		{"header arity", "llm_router {\n target a {\n  header X-Only\n }\n}", `header: expected <field> <value>|Testfile:3`},
		{"argument on directive", "llm_router extra {\n}", `wrong argument count|Testfile:1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.input)
			if err == nil {
				t.Fatalf("accepted; want error %q", tc.want)
			}
			msg, where, _ := strings.Cut(tc.want, "|")
			if !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), ", at "+where) {
				t.Fatalf("error %q\nwant it to contain %q and name %s", err, msg, where)
			}
		})
	}
}

// `to <target> weight <n>` names no model; a second argument is the model.
func TestCaddyfileMemberForms(t *testing.T) {
	h, err := parse(t, "llm_router {\n target a\n model m {\n  to a\n  to a up\n  to a weight 3\n  to a up weight 0\n }\n}")
	if err != nil {
		t.Fatal(err)
	}
	to := h.Models[0].To
	if to[0].Model != "" || to[0].Weight != nil || to[1].Model != "up" || to[2].Model != "" || *to[2].Weight != 3 || to[3].Model != "up" || *to[3].Weight != 0 {
		t.Fatalf("members: %+v", to)
	}
}

// Provider options in the provider's own block, flat with its prefix, or
// both; strategy options through caddyfile.UnmarshalModule.
func TestCaddyfileModuleOptions(t *testing.T) {
	h, err := parse(t, `llm_router {
		target m {
			mock_delay 5ms
			provider mock {
				response "from the block"
				tool_call lookup {"q":"x"}
			}
			mock_tool_call now
		}
		target c {
			provider anthropic {
				max_tokens 2048
			}
		}
		model fast {
			strategy latency {
				explore_percent 5
			}
			to m
		}
		strategy latency 0
	}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"provider":"mock"`, `"response":"from the block"`, `"delay":5000000`, `{"arguments":"{\"q\":\"x\"}","tool":"lookup"}`, `{"tool":"now"}`} {
		if !strings.Contains(string(h.Targets[0].ProviderRaw), want) {
			t.Errorf("mock JSON %s lacks %s", h.Targets[0].ProviderRaw, want)
		}
	}
	if got := string(h.Targets[1].ProviderRaw); got != `{"default_max_tokens":2048,"provider":"anthropic"}` {
		t.Errorf("anthropic JSON %s", got)
	}
	if got := string(h.Models[0].StrategyRaw); got != `{"explore_percent":5,"policy":"latency"}` {
		t.Errorf("alias strategy %s", got)
	}
	if got := string(h.StrategyRaw); got != `{"explore_percent":0,"policy":"latency"}` {
		t.Errorf("strategy %s", got)
	}
	for _, tc := range []struct{ input, want string }{
		{"target a {\nprovider openai {\nx 1\n}\n}", "provider openai takes no options, at Testfile:6"},
		{"target a {\nprovider mock\nmock_nope 1\n}", `unrecognized subdirective "mock_nope", at Testfile:6`},
		{"target a {\nprovider mock {\nnope 1\n}\n}", `unrecognized subdirective "nope", at Testfile:6`},
		{"model x {\nstrategy weighted 3\nto a\n}", "strategy weighted takes no options"},
		{"model x {\nstrategy latency {\nexplore_percent 200\n}\nto a\n}", "explore_percent"},
	} {
		_, err := parse(t, "llm_router {\ntarget z {\n}\n"+tc.input+"\n}")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.input, err, tc.want)
		}
	}
}

// A `fallback` entry naming nothing is refused with its line.
func TestCaddyfileFallbackReferences(t *testing.T) {
	_, err := parse(t, "llm_router {\ntarget a {\n}\nmodel m {\nto a\n}\nfallback m a a/x [a]y\nfallback nosuch\n}")
	if err == nil || !strings.Contains(err.Error(), `fallback: "nosuch" names no alias, target or target/model, at Testfile:8`) {
		t.Fatalf("error %v", err)
	}
	if _, err := parse(t, "llm_router {\ntarget a {\n}\nfallback b/x\n}"); err == nil {
		t.Fatal("fallback to an unknown target/model accepted")
	}
}
