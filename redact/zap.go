package redact

import (
	"encoding/json"
	"fmt"

	"go.uber.org/zap/zapcore"
)

// Core returns a zapcore.Core that writes through core with every secret of
// s removed from the message and from string, []byte, error, Stringer and
// reflected fields, and from those nested in object and array fields, before
// any of it reaches core or its encoder. Wrap a logger with it:
//
//	logger = logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
//		return redact.Core(c, scrubber)
//	}))
//
// The wrapped core still decides what is logged (levels, sampling, Caddy's
// include/exclude): the scrubbing runs as a pre-write hook on the entries it
// accepts. Field keys and logger names are not scrubbed.
func Core(core zapcore.Core, s *Scrubber) zapcore.Core {
	if s.Len() == 0 {
		return core
	}
	h := &hook{s: s}
	return &scrubCore{Core: core, s: s, hook: h.scrub}
}

// scrubCore is the Core that Core returns.
type scrubCore struct {
	zapcore.Core
	s    *Scrubber
	hook zapcore.CheckPreWriteHook
}

// hook holds the pre-write hook, made once per Core, not per entry.
type hook struct{ s *Scrubber }

// scrub is the pre-write hook.
func (h *hook) scrub(ent zapcore.Entry, fields []zapcore.Field) (zapcore.Entry, []zapcore.Field) {
	ent.Message = h.s.ScrubString(ent.Message)
	return ent, scrubFields(h.s, fields)
}

// Level reports the wrapped core's minimum level.
func (c *scrubCore) Level() zapcore.Level { return zapcore.LevelOf(c.Core) }

// With scrubs the fields before the wrapped core encodes them.
func (c *scrubCore) With(fields []zapcore.Field) zapcore.Core {
	return &scrubCore{Core: c.Core.With(scrubFields(c.s, fields)), s: c.s, hook: c.hook}
}

// Check lets the wrapped core decide and adds the scrubbing hook to what it
// accepted.
func (c *scrubCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	ce = c.Core.Check(ent, ce)
	if ce != nil {
		ce = ce.Before(ent, c.hook)
	}
	return ce
}

// Write scrubs, for callers that write to the core without Check.
func (c *scrubCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	ent, fields = c.hook(ent, fields)
	return c.Core.Write(ent, fields)
}

// scrubFields returns fields with secrets removed; fields itself when none
// needed a change (the caller's slice is never modified).
func scrubFields(s *Scrubber, fields []zapcore.Field) []zapcore.Field {
	out, copied := fields, false
	for i := range fields {
		f, changed := scrubField(s, fields[i])
		if !changed {
			continue
		}
		if !copied {
			out, copied = append([]zapcore.Field(nil), fields...), true
		}
		out[i] = f
	}
	return out
}

// scrubField returns f with secrets removed and whether it changed. Fields
// whose text only the encoder produces (reflected values, objects, arrays,
// errors with causes or a verbose form) are wrapped so that the encoder
// writes through a scrubbing encoder.
func scrubField(s *Scrubber, f zapcore.Field) (zapcore.Field, bool) {
	switch f.Type {
	case zapcore.StringType:
		if out, ok := scrub(s, f.String); ok {
			f.String = string(out)
			return f, true
		}
	case zapcore.ByteStringType, zapcore.BinaryType:
		if b, _ := f.Interface.([]byte); hasSecret(s, b) {
			f.Interface = s.Scrub(b)
			return f, true
		}
	case zapcore.StringerType:
		str, ok := stringOf(f.Interface)
		if !ok {
			return inline(s, f), true
		}
		if out, found := scrub(s, str); found {
			return zapcore.Field{Key: f.Key, Type: zapcore.StringType, String: string(out)}, true
		}
	case zapcore.ErrorType:
		err, _ := f.Interface.(error)
		_, group := err.(interface{ Errors() []error })
		_, verbose := err.(fmt.Formatter)
		msg, ok := errorOf(err)
		if group || verbose || !ok || hasSecret(s, msg) {
			return inline(s, f), true
		}
	case zapcore.ObjectMarshalerType, zapcore.InlineMarshalerType:
		if m, ok := f.Interface.(zapcore.ObjectMarshaler); ok {
			f.Interface = objectMarshaler{m: m, s: s}
			return f, true
		}
	case zapcore.ArrayMarshalerType:
		if m, ok := f.Interface.(zapcore.ArrayMarshaler); ok {
			f.Interface = arrayMarshaler{m: m, s: s}
			return f, true
		}
	case zapcore.ReflectType:
		return inline(s, f), true
	}
	return f, false
}

// stringOf calls String, reporting false if it panicked (zap then reports the
// panic itself, through the scrubbing encoder).
func stringOf(v any) (str string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	st, isStringer := v.(fmt.Stringer)
	if !isStringer {
		return "", false
	}
	return st.String(), true
}

// errorOf calls Error, reporting false if it panicked.
func errorOf(err error) (msg string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	if err == nil {
		return "", true
	}
	return err.Error(), true
}

// inline wraps f so that it is added through a scrubbing encoder.
func inline(s *Scrubber, f zapcore.Field) zapcore.Field {
	return zapcore.Field{Type: zapcore.InlineMarshalerType, Interface: fieldMarshaler{f: f, s: s}}
}

// fieldMarshaler adds one field through a scrubbing encoder.
type fieldMarshaler struct {
	f zapcore.Field
	s *Scrubber
}

// MarshalLogObject adds the field to enc, scrubbed.
func (m fieldMarshaler) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	m.f.AddTo(&objectEncoder{ObjectEncoder: enc, s: m.s})
	return nil
}

// objectMarshaler marshals an object through a scrubbing encoder.
type objectMarshaler struct {
	m zapcore.ObjectMarshaler
	s *Scrubber
}

// MarshalLogObject marshals the object into enc, scrubbed.
func (m objectMarshaler) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	return m.m.MarshalLogObject(&objectEncoder{ObjectEncoder: enc, s: m.s})
}

// arrayMarshaler marshals an array through a scrubbing encoder.
type arrayMarshaler struct {
	m zapcore.ArrayMarshaler
	s *Scrubber
}

// MarshalLogArray marshals the array into enc, scrubbed.
func (m arrayMarshaler) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	return m.m.MarshalLogArray(&arrayEncoder{ArrayEncoder: enc, s: m.s})
}

// objectEncoder scrubs what is added to the ObjectEncoder it wraps.
type objectEncoder struct {
	zapcore.ObjectEncoder
	s *Scrubber
}

// AddString adds value, scrubbed.
func (e *objectEncoder) AddString(key, value string) {
	e.ObjectEncoder.AddString(key, e.s.ScrubString(value))
}

// AddByteString adds value, scrubbed.
func (e *objectEncoder) AddByteString(key string, value []byte) {
	e.ObjectEncoder.AddByteString(key, e.s.Scrub(value))
}

// AddBinary adds value, scrubbed.
func (e *objectEncoder) AddBinary(key string, value []byte) {
	e.ObjectEncoder.AddBinary(key, e.s.Scrub(value))
}

// AddReflected adds value, scrubbed in its JSON form.
func (e *objectEncoder) AddReflected(key string, value any) error {
	return e.ObjectEncoder.AddReflected(key, scrubReflected(e.s, value))
}

// AddObject adds an object through a scrubbing encoder.
func (e *objectEncoder) AddObject(key string, m zapcore.ObjectMarshaler) error {
	return e.ObjectEncoder.AddObject(key, objectMarshaler{m: m, s: e.s})
}

// AddArray adds an array through a scrubbing encoder.
func (e *objectEncoder) AddArray(key string, m zapcore.ArrayMarshaler) error {
	return e.ObjectEncoder.AddArray(key, arrayMarshaler{m: m, s: e.s})
}

// arrayEncoder scrubs what is appended to the ArrayEncoder it wraps.
type arrayEncoder struct {
	zapcore.ArrayEncoder
	s *Scrubber
}

// AppendString appends value, scrubbed.
func (e *arrayEncoder) AppendString(value string) {
	e.ArrayEncoder.AppendString(e.s.ScrubString(value))
}

// AppendByteString appends value, scrubbed.
func (e *arrayEncoder) AppendByteString(value []byte) {
	e.ArrayEncoder.AppendByteString(e.s.Scrub(value))
}

// AppendReflected appends value, scrubbed in its JSON form.
func (e *arrayEncoder) AppendReflected(value any) error {
	return e.ArrayEncoder.AppendReflected(scrubReflected(e.s, value))
}

// AppendObject appends an object through a scrubbing encoder.
func (e *arrayEncoder) AppendObject(m zapcore.ObjectMarshaler) error {
	return e.ArrayEncoder.AppendObject(objectMarshaler{m: m, s: e.s})
}

// AppendArray appends an array through a scrubbing encoder.
func (e *arrayEncoder) AppendArray(m zapcore.ArrayMarshaler) error {
	return e.ArrayEncoder.AppendArray(arrayMarshaler{m: m, s: e.s})
}

// scrubReflected returns value, or its JSON form scrubbed when that holds a
// secret. A value that does not marshal is left to the encoder, which then
// reports the error and not the value.
func scrubReflected(s *Scrubber, value any) any {
	b, err := json.Marshal(value)
	if err != nil || !hasSecret(s, b) {
		return value
	}
	return json.RawMessage(s.Scrub(b))
}

// Interface guards
var (
	_ zapcore.Core            = (*scrubCore)(nil)
	_ zapcore.LevelEnabler    = (*scrubCore)(nil)
	_ zapcore.ObjectMarshaler = fieldMarshaler{}
	_ zapcore.ObjectMarshaler = objectMarshaler{}
	_ zapcore.ArrayMarshaler  = arrayMarshaler{}
	_ zapcore.ObjectEncoder   = (*objectEncoder)(nil)
	_ zapcore.ArrayEncoder    = (*arrayEncoder)(nil)
)
