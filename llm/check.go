package llm

import "errors"

// MaxDepth is how deeply a request's JSON may nest.
const MaxDepth = 1000

// Errors of CheckJSON.
var (
	ErrNotJSON  = errors.New("not valid JSON")
	ErrTooDeep  = errors.New("JSON nested too deeply")
	ErrNotEmpty = errors.New("trailing data after the JSON value")
)

// CheckJSON reports whether b is one valid JSON value nested at most
// maxDepth levels deep. It never recurses and allocates nothing (the nesting
// is tracked in a bit stack of maxDepth bits on the stack when maxDepth is
// at most MaxDepth, on the heap beyond), so no input can exhaust the stack
// or grow memory.
func CheckJSON(b []byte, maxDepth int) error {
	var fixed [MaxDepth/64 + 1]uint64
	stack := fixed[:]
	if maxDepth > MaxDepth {
		stack = make([]uint64, maxDepth/64+1)
	}
	depth := 0
	// isObj reports whether the container at the top is an object.
	isObj := func() bool { return stack[(depth-1)/64]&(1<<((depth-1)%64)) != 0 }
	push := func(obj bool) bool {
		if depth >= maxDepth {
			return false
		}
		w, bit := depth/64, uint64(1)<<(depth%64)
		if obj {
			stack[w] |= bit
		} else {
			stack[w] &^= bit
		}
		depth++
		return true
	}
	i := skipSpace(b, 0)
	for {
		// A value is expected at i.
		if i >= len(b) {
			return ErrNotJSON
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if !push(c == '{') {
				return ErrTooDeep
			}
			i = skipSpace(b, i+1)
			if i < len(b) && (b[i] == '}' && c == '{' || b[i] == ']' && c == '[') {
				depth--
				i++
				break
			}
			if c == '{' {
				var ok bool
				if i, ok = key(b, i); !ok {
					return ErrNotJSON
				}
			}
			continue
		case c == '"':
			var ok bool
			if i, ok = str(b, i); !ok {
				return ErrNotJSON
			}
		case c == '-' || (c >= '0' && c <= '9'):
			var ok bool
			if i, ok = number(b, i); !ok {
				return ErrNotJSON
			}
		case c == 't':
			if !lit(b, i, "true") {
				return ErrNotJSON
			}
			i += 4
		case c == 'f':
			if !lit(b, i, "false") {
				return ErrNotJSON
			}
			i += 5
		case c == 'n':
			if !lit(b, i, "null") {
				return ErrNotJSON
			}
			i += 4
		default:
			return ErrNotJSON
		}
		// After a value: close containers, or a comma and the next value.
		for {
			i = skipSpace(b, i)
			if depth == 0 {
				if i != len(b) {
					return ErrNotEmpty
				}
				return nil
			}
			if i >= len(b) {
				return ErrNotJSON
			}
			obj := isObj()
			switch b[i] {
			case ',':
				i = skipSpace(b, i+1)
				if obj {
					var ok bool
					if i, ok = key(b, i); !ok {
						return ErrNotJSON
					}
				}
			case '}':
				if !obj {
					return ErrNotJSON
				}
				depth--
				i++
				continue
			case ']':
				if obj {
					return ErrNotJSON
				}
				depth--
				i++
				continue
			default:
				return ErrNotJSON
			}
			break
		}
	}
}

// key reads `"name" :` at i and returns the position of the value.
func key(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, ok := str(b, i)
	if !ok {
		return i, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return skipSpace(b, i+1), true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// str reads the string starting with the quote at i and returns the
// position after its closing quote.
func str(b []byte, i int) (int, bool) {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, false
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return i, false
					}
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		default:
			i++
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number reads a JSON number at i.
func number(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if !digits() {
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return i, false
		}
	}
	return i, true
}

func lit(b []byte, i int, word string) bool {
	return len(b)-i >= len(word) && string(b[i:i+len(word)]) == word
}
