package keys

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"unsafe"

	"github.com/caddyserver/caddy/v2"
	"github.com/llmrouter/caddy-llm-router/internal/glob"
)

// hashPrefix marks a secret given as the SHA-256 of the key.
const hashPrefix = "sha256:"

// Key is a provisioned router key. It holds the SHA-256 of its secret,
// never the secret itself, and prints as its name.
type Key struct {
	// Name is the key's name.
	Name string
	// Limits are its windows and budgets, for the store.
	Limits Limits
	// Models are its model patterns as configured (none = all).
	Models []string
	// Targets are its allowed targets as configured (none = all).
	Targets []string

	hash    [sha256.Size]byte
	globs   []glob.Glob
	targets map[string]bool
}

// String returns the key's name: a key never prints its secret.
func (k *Key) String() string { return k.Name }

// GoString is String, so %#v does not print the hash either.
func (k *Key) GoString() string { return "keys.Key(" + k.Name + ")" }

// AllowsModel reports whether the key may ask for model, as the client
// wrote it (an alias, `target/model`, a plain model name).
func (k *Key) AllowsModel(model string) bool {
	if len(k.globs) == 0 {
		return true
	}
	for _, g := range k.globs {
		if g.Match(model) {
			return true
		}
	}
	return false
}

// AllowsTarget reports whether the key may reach the target of that name.
func (k *Key) AllowsTarget(name string) bool {
	return k.targets == nil || k.targets[name]
}

// Set is the provisioned keys of one llm_router.
type Set struct {
	keys []*Key
}

// NewSet validates cfgs and provisions them: each secret's placeholders
// (`{env.X}`) are expanded, then it is hashed, or decoded when it has the
// `sha256:` form. Errors name keys by name, never by secret.
func NewSet(cfgs []KeyConfig) (*Set, error) {
	if err := Validate(cfgs); err != nil {
		return nil, err
	}
	repl := caddy.NewReplacer()
	s := &Set{keys: make([]*Key, 0, len(cfgs))}
	for i := range cfgs {
		c := &cfgs[i]
		k := &Key{Name: c.Name, Models: c.Models, Targets: c.Targets,
			Limits: Limits{Name: c.Name, RPM: c.RPM, TPM: c.TPM}}
		secret := repl.ReplaceAll(c.Secret, "")
		switch {
		case secret == "":
			return nil, fmt.Errorf("key %q: secret is empty once its placeholders are expanded", c.Name)
		case strings.HasPrefix(secret, hashPrefix):
			h := secret[len(hashPrefix):]
			if len(h) != hex.EncodedLen(sha256.Size) {
				return nil, fmt.Errorf("key %q: a sha256: secret needs 64 hex digits", c.Name)
			}
			if _, err := hex.Decode(k.hash[:], []byte(h)); err != nil {
				return nil, fmt.Errorf("key %q: a sha256: secret needs 64 hex digits", c.Name)
			}
		default:
			k.hash = sha256.Sum256([]byte(secret))
		}
		for _, m := range c.Models {
			k.globs = append(k.globs, compileGlob(m))
		}
		if len(c.Targets) > 0 {
			k.targets = make(map[string]bool, len(c.Targets))
			for _, t := range c.Targets {
				k.targets[t] = true
			}
		}
		for _, b := range c.Budgets {
			k.Limits.Budgets = append(k.Limits.Budgets, NewBudget(b.USD, b.Period))
		}
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// Authenticate returns the key whose secret is presented. The presented
// key is hashed once with SHA-256 and that hash compared with every key's
// in constant time, so the time taken depends neither on which key matched
// nor on how its secret was written, and nothing is allocated for the
// presented key.
func (s *Set) Authenticate(presented string) (*Key, bool) {
	if s == nil || presented == "" {
		return nil, false
	}
	// A conversion to []byte would copy keys longer than 32 bytes to the
	// heap; Sum256 only reads them.
	h := sha256.Sum256(unsafe.Slice(unsafe.StringData(presented), len(presented)))
	found, idx := 0, 0
	for i, k := range s.keys {
		eq := subtle.ConstantTimeCompare(h[:], k.hash[:])
		idx = subtle.ConstantTimeSelect(eq, i, idx)
		found |= eq
	}
	if found == 0 {
		return nil, false
	}
	return s.keys[idx], true
}

// Keys returns the keys in configured order. The slice must not be changed.
func (s *Set) Keys() []*Key {
	if s == nil {
		return nil
	}
	return s.keys
}

// Len is the number of keys; 0 means the router has no keys and asks
// clients for none.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Get returns the key of that name.
func (s *Set) Get(name string) (*Key, bool) {
	for _, k := range s.Keys() {
		if k.Name == name {
			return k, true
		}
	}
	return nil, false
}
