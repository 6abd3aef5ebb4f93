package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "llm-key",
		Short: "Prints a new llm_router key and its sha256: form",
		Long: `
Prints a new random key for the key subdirective of llm_router: sk-llmr-
followed by 32 random bytes in base62, on the first line, and on the second
line its sha256: form, which a config can hold instead of the key itself:

	key sha256:<64 hex digits> {
		name alice
	}

Give the key to the client; keep the sha256: form in the config.
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Args = cobra.NoArgs
			cmd.RunE = func(cmd *cobra.Command, _ []string) error {
				return writeNewKey(cmd.OutOrStdout(), rand.Reader)
			}
		},
	})
}

// KeyPrefix starts every key that `caddy llm-key` makes.
const KeyPrefix = "sk-llmr-"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// keyDigits is the length of 32 bytes in base62: ceil(256 / log2(62)).
const keyDigits = 43

// NewKey returns a new key, `sk-llmr-` and 32 bytes from random in base62
// (always 43 digits), and its `sha256:<hex>` form.
func NewKey(random io.Reader) (key, hashed string, err error) {
	var b [32]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", "", fmt.Errorf("reading random bytes: %w", err)
	}
	n := new(big.Int).SetBytes(b[:])
	digits := make([]byte, keyDigits)
	base, mod := big.NewInt(62), new(big.Int)
	for i := keyDigits - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		digits[i] = base62[mod.Int64()]
	}
	key = KeyPrefix + string(digits)
	return key, HashForm(key), nil
}

// HashForm returns the `sha256:<64 hex digits>` form of a key, which a
// config may hold instead of the key.
func HashForm(key string) string {
	h := sha256.Sum256([]byte(key))
	return hashPrefix + hex.EncodeToString(h[:])
}

func writeNewKey(w io.Writer, random io.Reader) error {
	key, hashed, err := NewKey(random)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n%s\n", key, hashed)
	return err
}
