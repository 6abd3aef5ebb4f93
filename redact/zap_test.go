package redact

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// jsonCore is a real JSON core writing to buf.
func jsonCore(buf *bytes.Buffer, lvl zapcore.Level) zapcore.Core {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zapcore.NewCore(enc, zapcore.AddSync(buf), lvl)
}

// stringer is a fmt.Stringer.
type stringer string

func (s stringer) String() string { return string(s) }

// nilStringer panics in String on a nil receiver, as many do.
type nilStringer struct{ v string }

func (s *nilStringer) String() string { return s.v }

// panicStringer panics with its value.
type panicStringer string

func (s panicStringer) String() string { panic("cannot print " + string(s)) }

// verboseError shows more with %+v than Error does.
type verboseError struct{ detail string }

func (e verboseError) Error() string { return "request failed" }

func (e verboseError) Format(f fmt.State, verb rune) {
	if f.Flag('+') {
		fmt.Fprintf(f, "request failed: %s", e.detail)
		return
	}
	fmt.Fprint(f, e.Error())
}

// groupError is a multi-error as zap understands one.
type groupError []error

func (g groupError) Error() string   { return fmt.Sprintf("%d errors", len(g)) }
func (g groupError) Errors() []error { return g }

// user is an ObjectMarshaler with a nested object and array.
type user struct{ token string }

func (u user) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("token", u.token)
	enc.AddByteString("raw", []byte(u.token))
	if err := enc.AddReflected("refl", map[string]string{"t": u.token}); err != nil {
		return err
	}
	return enc.AddArray("list", zapcore.ArrayMarshalerFunc(func(ae zapcore.ArrayEncoder) error {
		ae.AppendString(u.token)
		ae.AppendByteString([]byte(u.token))
		if err := ae.AppendReflected([]string{u.token}); err != nil {
			return err
		}
		if err := ae.AppendArray(zapcore.ArrayMarshalerFunc(func(ae zapcore.ArrayEncoder) error {
			ae.AppendString(u.token)
			return nil
		})); err != nil {
			return err
		}
		return ae.AppendObject(zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
			enc.AddString("deep", u.token)
			return nil
		}))
	}))
}

// assertClean fails when out holds key in any spelling or base64-encoded.
func assertClean(t *testing.T, s *Scrubber, out, key string) {
	t.Helper()
	if s.ContainsString(out) || strings.Contains(out, key) ||
		strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(key))[:16]) {
		t.Fatalf("log holds the key:\n%s", out)
	}
}

func TestCoreScrubsEverything(t *testing.T) {
	s := New(key)
	var buf bytes.Buffer
	log := zap.New(Core(jsonCore(&buf, zapcore.DebugLevel), s))
	slashed := strings.ReplaceAll(key, "/", `\/`)
	log.Info("upstream said: "+key,
		zap.String("str", "key="+key),
		zap.String("json", `{"k":"`+slashed+`"}`),
		zap.ByteString("bytes", []byte(key)),
		zap.Binary("bin", []byte(key)),
		zap.Error(fmt.Errorf("dial https://x.test/?key=%s: refused", "sk-test%2FAbc%2B9_xyz")),
		zap.NamedError("verbose", verboseError{detail: key}),
		zap.NamedError("group", groupError{errors.New("a " + key), verboseError{detail: key}}),
		zap.Stringer("stringer", stringer(key)),
		zap.Stringer("nil", (*nilStringer)(nil)),
		zap.Stringer("panics", panicStringer(key)),
		zap.Any("map", map[string]any{"k": key, "n": 1}),
		zap.Reflect("struct", struct{ Token string }{key}),
		zap.Strings("strs", []string{"x", key}),
		zap.ByteStrings("bstrs", [][]byte{[]byte(key)}),
		zap.Stringers("stringers", []stringer{stringer(key)}),
		zap.Errors("errs", []error{errors.New(key)}),
		zap.Object("user", user{token: key}),
		zap.Inline(user{token: key}),
		zap.Dict("dict", zap.String("in", key), zap.Dict("deeper", zap.Strings("list", []string{key}))),
		zap.Int("n", 42),
	)
	out := buf.String()
	assertClean(t, s, out, key)
	for _, want := range []string{
		`"msg":"upstream said: [redacted]"`,
		`"str":"key=[redacted]"`,
		`"json":"{\"k\":\"[redacted]\"}"`,
		`"bin":"` + base64.StdEncoding.EncodeToString([]byte(Marker)) + `"`,
		`"error":"dial https://x.test/?key=[redacted]: refused"`,
		`"verboseVerbose":"request failed: [redacted]"`,
		`"nil":"<nil>"`,
		`"map":{"k":"[redacted]","n":1}`,
		`"deep":"[redacted]"`,
		`"n":42`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, Marker); n < 30 {
		t.Errorf("%d markers, want at least 30:\n%s", n, out)
	}
}

func TestCoreWith(t *testing.T) {
	s := New(key)
	var buf bytes.Buffer
	log := zap.New(Core(jsonCore(&buf, zapcore.DebugLevel), s))
	log.With(zap.String("k", key), zap.Object("u", user{key})).Info("hello")
	log.WithLazy(zap.String("lazy", key)).Info("hello")
	assertClean(t, s, buf.String(), key)
	if n := strings.Count(buf.String(), `"k":"[redacted]"`); n != 1 {
		t.Errorf("With field scrubbed %d times, want 1:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), `"lazy":"[redacted]"`) {
		t.Errorf("lazy With field not scrubbed:\n%s", buf.String())
	}
}

func TestCoreLeavesCallerFieldsAlone(t *testing.T) {
	s := New(key)
	var buf bytes.Buffer
	log := zap.New(Core(jsonCore(&buf, zapcore.DebugLevel), s))
	fields := []zap.Field{zap.String("k", key), zap.Int("n", 1)}
	log.Info("m", fields...)
	if fields[0].String != key || fields[0].Type != zapcore.StringType {
		t.Errorf("caller's field changed: %+v", fields[0])
	}
	assertClean(t, s, buf.String(), key)
}

// The wrapped core keeps deciding what is written: levels, sampling, and a
// filter by logger name such as Caddy's include/exclude.
func TestCoreKeepsWrappedDecisions(t *testing.T) {
	s := New(key)

	var buf bytes.Buffer
	c := Core(jsonCore(&buf, zapcore.WarnLevel), s)
	if zapcore.LevelOf(c) != zapcore.WarnLevel || c.Enabled(zapcore.InfoLevel) {
		t.Errorf("level = %v, want warn", zapcore.LevelOf(c))
	}
	zap.New(c).Info("dropped " + key)
	if buf.Len() != 0 {
		t.Errorf("info written to a warn core: %s", buf.String())
	}

	buf.Reset()
	sampled := zapcore.NewSamplerWithOptions(jsonCore(&buf, zapcore.DebugLevel), time.Hour, 2, 0)
	log := zap.New(Core(sampled, s))
	for range 5 {
		log.Info("same " + key)
	}
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Errorf("sampler let %d lines through, want 2:\n%s", n, buf.String())
	}
	assertClean(t, s, buf.String(), key)

	buf.Reset()
	var other bytes.Buffer
	tee := zapcore.NewTee(
		&nameFilter{Core: jsonCore(&buf, zapcore.DebugLevel), deny: "noisy"},
		jsonCore(&other, zapcore.DebugLevel),
	)
	log = zap.New(Core(tee, s))
	log.Named("noisy").Info("hidden " + key)
	log.Named("ok").Info("shown " + key)
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown [redacted]") {
		t.Errorf("filtered core wrote:\n%s", buf.String())
	}
	if strings.Count(other.String(), "\n") != 2 {
		t.Errorf("other core wrote:\n%s", other.String())
	}
	assertClean(t, s, buf.String()+other.String(), key)
}

// nameFilter declines entries of one logger name in Check, as Caddy's
// filtering core does for include/exclude.
type nameFilter struct {
	zapcore.Core
	deny string
}

func (f *nameFilter) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if ent.LoggerName == f.deny {
		return ce
	}
	return f.Core.Check(ent, ce)
}

func (f *nameFilter) With(fields []zapcore.Field) zapcore.Core {
	return &nameFilter{Core: f.Core.With(fields), deny: f.deny}
}

func TestCoreWriteDirect(t *testing.T) {
	s := New(key)
	var buf bytes.Buffer
	c := Core(jsonCore(&buf, zapcore.DebugLevel), s)
	err := c.Write(zapcore.Entry{Message: "direct " + key}, []zapcore.Field{zap.String("k", key)})
	if err != nil {
		t.Fatal(err)
	}
	assertClean(t, s, buf.String(), key)
	if !strings.Contains(buf.String(), "direct [redacted]") {
		t.Errorf("log: %s", buf.String())
	}
}

func TestCoreWithoutSecrets(t *testing.T) {
	var buf bytes.Buffer
	c := jsonCore(&buf, zapcore.DebugLevel)
	if Core(c, New("short")) != c || Core(c, nil) != c {
		t.Error("Core wrapped a core with nothing to scrub")
	}
}
