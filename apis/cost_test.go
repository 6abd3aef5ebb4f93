package apis_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/apis/internal/costtest"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// topUsage finds a top-level `usage` with prompt and completion tokens.
type topUsage struct{}

func (topUsage) FindUsage(doc, _ string, _ bool) (gjson.Result, llm.Usage, bool) {
	obj := gjson.Get(doc, "usage")
	return obj, llm.Usage{PromptTokens: obj.Get("p").Int(), CompletionTokens: obj.Get("c").Int()}, obj.IsObject()
}

func filter(p *costtest.Pricer) *apis.CostFilter {
	return apis.NewCostFilter(topUsage{}, `"usage"`, p.Func())
}

// p=1000 c=100 at 3 and 15 per million.
const cost1 = "0.0045"

func TestCostFilterJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		budget         bool
	}{
		{"plain", `{"id":"x","usage":{"p":1000,"c":100}}`, `{"id":"x","usage":{"p":1000,"c":100,"cost":` + cost1 + `}}`, false},
		{"budget", `{"usage":{"p":1000,"c":100},"z":1}`, `{"usage":{"p":1000,"c":100,"cost":` + cost1 + `,"budget_remaining":9.9955},"z":1}`, true},
		{"nested details", `{"usage":{"p":1000,"d":{"x":[1,{"y":2}]},"c":100}}`, `{"usage":{"p":1000,"d":{"x":[1,{"y":2}]},"c":100,"cost":` + cost1 + `}}`, false},
		{"empty object", `{"usage":{}}`, `{"usage":{"cost":0,"budget_remaining":10}}`, true},
		{"empty object with space", `{"usage":{ }}`, `{"usage":{"cost":0 }}`, false},
		{"pretty", "{\n  \"usage\": {\n    \"p\": 1000,\n    \"c\": 100\n  }\n}\n", "{\n  \"usage\": {\n    \"p\": 1000,\n    \"c\": 100,\"cost\":" + cost1 + "\n  }\n}\n", false},
		{"upstream cost replaced", `{"usage":{"p":1000,"cost":1.5e-3,"c":100}}`, `{"usage":{"p":1000,"cost":` + cost1 + `,"c":100}}`, false},
		{"both replaced", `{"usage":{"budget_remaining":"x","cost":null,"p":1000,"c":100}}`, `{"usage":{"budget_remaining":9.9955,"cost":` + cost1 + `,"p":1000,"c":100}}`, true},
		{"null usage", `{"usage":null}`, `{"usage":null}`, true},
		{"usage in content", `{"content":"\"usage\":{\"p\":1}","tool":{"input":{"usage":{"p":1}}}}`, `{"content":"\"usage\":{\"p\":1}","tool":{"input":{"usage":{"p":1}}}}`, true},
		{"no usage key", `{"a":1}`, `{"a":1}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &costtest.Pricer{Budget: tc.budget}
			f := filter(p)
			got := f.Filter([]byte(tc.in))
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if f.Pending() {
				t.Fatal("holds bytes after a whole answer")
			}
		})
	}
}

// An unchanged write comes back as the same slice: nothing is copied.
func TestCostFilterUnchangedNoCopy(t *testing.T) {
	f := filter(&costtest.Pricer{})
	for _, in := range []string{`{"a":1}`, "data: {\"a\":1}\n\n", "data: {\"usage\":null}\n\n"} {
		f := filter(&costtest.Pricer{})
		p := []byte(in)
		if got := f.Filter(p); &got[0] != &p[0] || len(got) != len(p) {
			t.Fatalf("%q copied", in)
		}
	}
	_ = f
	// Without a price and a budget nothing is added.
	f = filter(&costtest.Pricer{Unpriced: true})
	in := []byte(`{"usage":{"p":1,"cost":0.5}}`)
	if got := f.Filter(in); !bytes.Equal(got, in) {
		t.Fatalf("unpriced: %s", got)
	}
	// Without a price but with a budget: only budget_remaining.
	f = filter(&costtest.Pricer{Unpriced: true, Budget: true})
	if got := f.Filter(in); string(got) != `{"usage":{"p":1,"cost":0.5,"budget_remaining":10}}` {
		t.Fatalf("unpriced with a budget: %s", got)
	}
}

// Amounts are written without exponent.
func TestCostFilterNumbers(t *testing.T) {
	f := apis.NewCostFilter(topUsage{}, `"usage"`, func(llm.Usage) apis.Cost {
		return apis.Cost{USD: 3e-9, Priced: true, Remaining: 1e21, HasBudget: true}
	})
	got := f.Filter([]byte(`{"usage":{}}`))
	if string(got) != `{"usage":{"cost":0.000000003,"budget_remaining":1000000000000000000000}}` {
		t.Fatalf("got %s", got)
	}
}

// A JSON answer written in pieces is held until it is whole.
func TestCostFilterJSONSplit(t *testing.T) {
	in := []byte(`{"id":"x","usage":{"p":1000,"c":100}}` + "\n")
	want := `{"id":"x","usage":{"p":1000,"c":100,"cost":` + cost1 + `}}` + "\n"
	for cut := 1; cut < len(in); cut++ {
		f := filter(&costtest.Pricer{})
		first := f.Filter(in[:cut])
		if len(first) != 0 && cut < len(in)-1 {
			t.Fatalf("cut %d: wrote %q before the answer was whole", cut, first)
		}
		got := string(first) + string(f.Filter(in[cut:]))
		if got != want {
			t.Fatalf("cut %d: got %s", cut, got)
		}
	}
	// A broken answer is released as it is at the end.
	f := filter(&costtest.Pricer{})
	if got := costtest.Run(f, []byte(`{"usage":{"p":1`)); string(got) != `{"usage":{"p":1` {
		t.Fatalf("broken answer: %q", got)
	}
}

func TestCostFilterEvents(t *testing.T) {
	usage := `{"usage":{"p":1000,"c":100}}`
	spliced := `{"usage":{"p":1000,"c":100,"cost":` + cost1 + `}}`
	for _, tc := range []struct{ name, in, want string }{
		{"one event", "data: " + usage + "\n\n", "data: " + spliced + "\n\n"},
		{"named, no space", "event: x\ndata:" + usage + "\n\n", "event: x\ndata:" + spliced + "\n\n"},
		{"crlf", "data: " + usage + "\r\n\r\n", "data: " + spliced + "\r\n\r\n"},
		{"several events", ": hi\n\ndata: {\"a\":1}\n\ndata: " + usage + "\n\ndata: [DONE]\n\n", ": hi\n\ndata: {\"a\":1}\n\ndata: " + spliced + "\n\ndata: [DONE]\n\n"},
		{"null usage", "data: {\"usage\":null}\n\n", "data: {\"usage\":null}\n\n"},
		{"usage in content", "data: {\"c\":\"\\\"usage\\\":{}\"}\n\n", "data: {\"c\":\"\\\"usage\\\":{}\"}\n\n"},
		{"multi-line data", "data: {\"usage\":\ndata: {\"p\":1000,\r\ndata: \"c\":100}\ndata: }\n\n", "data: {\"usage\":\ndata: {\"p\":1000,\r\ndata: \"c\":100,\"cost\":" + cost1 + "}\ndata: }\n\n"},
		{"multi-line, brace alone", "data: {\"usage\":{\"p\":1000,\"c\":100\ndata: }}\n\n", "data: {\"usage\":{\"p\":1000,\"c\":100,\"cost\":" + cost1 + "\ndata: }}\n\n"},
		{"invalid data", "data: {\"usage\":{\"p\":1}\n\n", "data: {\"usage\":{\"p\":1}\n\n"},
		{"leading blank lines", "\n\ndata: " + usage + "\n\n", "\n\ndata: " + spliced + "\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			if got := costtest.Run(filter(&costtest.Pricer{}), in); string(got) != tc.want {
				t.Fatalf("whole: got %q\nwant %q", got, tc.want)
			}
			// Written in any two pieces, and byte by byte.
			for cut := 1; cut < len(in); cut++ {
				if got := costtest.Run(filter(&costtest.Pricer{}), in[:cut], in[cut:]); string(got) != tc.want {
					t.Fatalf("cut %d: got %q", cut, got)
				}
			}
			var bytewise [][]byte
			for i := range in {
				bytewise = append(bytewise, in[i:i+1])
			}
			if got := costtest.Run(filter(&costtest.Pricer{}), bytewise...); string(got) != tc.want {
				t.Fatalf("byte by byte: got %q", got)
			}
		})
	}
}

// Whole events pass at once; only an incomplete one is held, and the
// release at the end of an attempt gives it back unedited.
func TestCostFilterHoldsOnlyIncomplete(t *testing.T) {
	f := filter(&costtest.Pricer{})
	got := f.Filter([]byte("data: {\"a\":1}\n\ndata: {\"usage\":{\"p\""))
	if string(got) != "data: {\"a\":1}\n\n" || !f.Pending() {
		t.Fatalf("got %q pending %v", got, f.Pending())
	}
	if got := f.Filter(nil); string(got) != "data: {\"usage\":{\"p\"" || f.Pending() {
		t.Fatalf("release %q", got)
	}
	if got := f.Filter(nil); len(got) != 0 {
		t.Fatalf("second release %q", got)
	}
}

// Every usage object of a stream is priced, each with its own figures.
func TestCostFilterEveryUsage(t *testing.T) {
	p := &costtest.Pricer{Budget: true}
	in := "data: {\"usage\":{\"p\":1000,\"c\":1}}\n\ndata: {\"usage\":{\"p\":1000,\"c\":100}}\n\n"
	got := string(costtest.Run(filter(p), []byte(in)))
	if len(p.Seen) != 2 || p.Seen[1].CompletionTokens != 100 || strings.Count(got, `"cost":`) != 2 || !strings.Contains(got, `"cost":`+cost1+`,"budget_remaining":9.9955}`) {
		t.Fatalf("got %s (seen %v)", got, p.Seen)
	}
}

// Any JSON document as an answer and as events, written in any pieces:
// the output is the input with the top-level usage object edited, and
// nothing else.
func FuzzCostFilter(f *testing.F) {
	f.Add([]byte(`{"usage":{"p":1000,"c":100}}`), 3, 17, false)
	f.Add([]byte(`{"usage":{}}`), 1, 2, true)
	f.Add([]byte(`{"a":"\"usage\":{}","usage":{"cost":1,"x":{"usage":{}}}}`), 9, 30, true)
	f.Add([]byte("{\n\"usage\" :\n{ \"p\" : 1 }\n}"), 5, 6, false)
	f.Add([]byte(`[{"usage":{}}]`), 0, 0, true)
	f.Fuzz(func(t *testing.T, doc []byte, a, b int, budget bool) {
		if !gjson.ValidBytes(doc) || bytes.TrimSpace(doc) == nil {
			return
		}
		p := &costtest.Pricer{Budget: budget}
		want := func() (*float64, *float64) {
			obj := gjson.GetBytes(doc, "usage")
			if !obj.IsObject() {
				return nil, nil
			}
			u := llm.Usage{PromptTokens: obj.Get("p").Int(), CompletionTokens: obj.Get("c").Int()}
			c := costtest.Price.Cost(u)
			r := costtest.Budget - c
			if !budget {
				return &c, nil
			}
			return &c, &r
		}
		cost, remaining := want()
		// As a JSON answer.
		t0 := bytes.TrimLeft(doc, " \t\r\n")
		if t0[0] == '{' || t0[0] == '[' {
			out := costtest.Run(filter(p), costtest.Split(doc, a, b)...)
			if err := costtest.CheckObject(doc, out, "usage", cost, remaining); err != nil {
				t.Fatal(err)
			}
		}
		// As the data of an event, when it fits on one line.
		if bytes.ContainsAny(doc, "\r\n") {
			return
		}
		ev := append(append([]byte("data: "), doc...), "\n\n"...)
		in := append(append([]byte("data: {\"a\":1}\n\n"), ev...), ev...)
		out := costtest.Run(filter(p), costtest.Split(in, a, b, a+b)...)
		evs := costtest.Events(out)
		if len(evs) != 3 || string(evs[0]) != "data: {\"a\":1}\n\n" {
			t.Fatalf("events changed: %q", out)
		}
		for _, ev := range evs[1:] {
			data, ok := costtest.Data(ev)
			if !ok || !bytes.HasPrefix(ev, []byte("data: ")) {
				t.Fatalf("event framing changed: %q", ev)
			}
			if err := costtest.CheckObject(doc, data, "usage", cost, remaining); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A released filter comes back fresh: no mode, nothing held, nothing of
// its earlier answer.
func TestCostFilterRelease(t *testing.T) {
	for i := 0; i < 3; i++ {
		f := filter(&costtest.Pricer{})
		if got := f.Func()([]byte("data: {\"usage\":{\"p\":1000,\"c\":100}}\n\ndata: {\"a\"")); !strings.Contains(string(got), `"cost":`+cost1) || !f.Pending() {
			t.Fatalf("round %d: %q", i, got)
		}
		f.Release()
		f = filter(&costtest.Pricer{})
		if f.Pending() {
			t.Fatal("a pooled filter holds bytes")
		}
		if got := f.Filter([]byte(`{"usage":{"p":1000,"c":100}}`)); string(got) != `{"usage":{"p":1000,"c":100,"cost":`+cost1+`}}` {
			t.Fatalf("round %d, JSON after SSE: %s", i, got)
		}
		f.Release()
	}
}
