package cache

import (
	"testing"

	"github.com/llmrouter/caddy-llm-router/llm"
)

func key(body string, mod ...func(*Request)) Key {
	r := &Request{API: "openai", Op: llm.OpChat, Model: "m", KeyName: "team-a", Body: []byte(body)}
	for _, f := range mod {
		f(r)
	}
	return NewKey(r)
}

const base = `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5}`

func TestKeySameRequest(t *testing.T) {
	same := []string{
		base,
		// Another member order, at the top and inside.
		`{"temperature":0.5,"messages":[{"content":"hi","role":"user"}],"model":"m"}`,
		// Whitespace.
		"{\n  \"model\" : \"m\",\n  \"messages\" : [ { \"role\" : \"user\", \"content\" : \"hi\" } ],\t\"temperature\": 0.5 }",
		// Strings escaped another way.
		`{"model":"\u006d","messages":[{"role":"user","content":"h\u0069"}],"temperature":0.5}`,
		// The members that do not change the answer.
		`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}],"temperature":0.5}`,
		`{"model":"m","stream":false,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],"temperature":0.5}`,
		`{"user":"alice","model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5}`,
		`{"metadata":{"user_id":"bob"},"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5}`,
	}
	want := key(base)
	for _, b := range same {
		if got := key(b); got != want {
			t.Errorf("key of %s differs from the base's", b)
		}
	}
}

func TestKeyDifferentRequest(t *testing.T) {
	want := key(base)
	different := []string{
		`{"model":"m","messages":[{"role":"user","content":"hi!"}],"temperature":0.5}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.6}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"seed":1}`,
		`{"model":"m","messages":[{"role":"system","content":"hi"}],"temperature":0.5}`,
		`{"model":"m2","messages":[{"role":"user","content":"hi"}],"temperature":0.5}`,
		// The ignored names count below the top level.
		`{"model":"m","messages":[{"role":"user","content":"hi","user":"x"}],"temperature":0.5}`,
		// Array order counts.
		`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"user","content":"ho"}],"temperature":0.5}`,
		`{"model":"m","messages":[{"role":"user","content":"ho"},{"role":"user","content":"hi"}],"temperature":0.5}`,
		// A string is not a number.
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":"0.5"}`,
	}
	seen := map[Key]string{want: base}
	for _, b := range different {
		k := key(b)
		if prev, dup := seen[k]; dup {
			t.Errorf("%s has the key of %s", b, prev)
		}
		seen[k] = b
	}
	for name, mod := range map[string]func(*Request){
		"another key name":  func(r *Request) { r.KeyName = "team-b" },
		"no key name":       func(r *Request) { r.KeyName = "" },
		"a client's key":    func(r *Request) { r.Credential = "sk-own" },
		"another API":       func(r *Request) { r.API = "anthropic" },
		"another operation": func(r *Request) { r.Op = llm.OpCompletions },
		"another model":     func(r *Request) { r.Model = "alias" },
		"a forced target":   func(r *Request) { r.Target = "t" },
		"fallback models":   func(r *Request) { r.Models = []string{"x"} },
		"a beta header":     func(r *Request) { r.Header = map[string][]string{"Anthropic-Beta": {"b1"}} },
	} {
		if key(base, mod) == want {
			t.Errorf("%s: same key", name)
		}
	}
	// Fields do not run into each other.
	a := key(base, func(r *Request) { r.Model, r.Target = "ab", "c" })
	b := key(base, func(r *Request) { r.Model, r.Target = "a", "bc" })
	if a == b {
		t.Error("model ab + target c has the key of model a + target bc")
	}
}

func TestKeyHeaderOrder(t *testing.T) {
	a := key(base, func(r *Request) {
		r.Header = map[string][]string{"Anthropic-Beta": {"b1"}, "Anthropic-Version": {"2023-06-01"}}
	})
	for range 20 { // map order varies from run to run
		b := key(base, func(r *Request) {
			r.Header = map[string][]string{"Anthropic-Version": {"2023-06-01"}, "Anthropic-Beta": {"b1"}}
		})
		if a != b {
			t.Fatal("header order changed the key")
		}
	}
}

func TestKeyNestedObjects(t *testing.T) {
	// Nested objects sorted at every level, the shared stack kept apart.
	a := key(`{"a":{"z":{"y":1,"x":[{"q":1,"p":2}]},"b":2},"c":{"e":1,"d":2}}`)
	b := key(`{"c":{"d":2,"e":1},"a":{"b":2,"z":{"x":[{"p":2,"q":1}],"y":1}}}`)
	if a != b {
		t.Error("nested member order changed the key")
	}
	c := key(`{"c":{"d":2,"e":1},"a":{"b":2,"z":{"x":[{"p":2,"q":1}],"y":2}}}`)
	if a == c {
		t.Error("a nested value did not change the key")
	}
}

func BenchmarkKey(b *testing.B) {
	r := &Request{API: "openai", Op: llm.OpChat, Model: "m", KeyName: "team-a", Body: []byte(
		`{"model":"m","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about the sea, please, with a title."}],"temperature":0.7,"max_tokens":256,"stream":true}`)}
	b.ReportAllocs()
	b.SetBytes(int64(len(r.Body)))
	for b.Loop() {
		NewKey(r)
	}
}
