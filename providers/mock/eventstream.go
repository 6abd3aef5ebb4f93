package mock

import (
	"context"
	"io"
	"time"
)

// eventStream is the body of a streamed mock answer: events are produced as
// the relay reads them, with the configured delay before every word after
// the first, so a slow mock stream costs no goroutine.
type eventStream struct {
	ctx    context.Context
	a      *answer
	delay  time.Duration
	pieces []string
	steps  []step // instead of pieces, for a tool-call answer
	next   int    // next event: 0 role, 1..len(pieces) words, then finish, usage, done
	buf    []byte
	off    int
	timer  *time.Timer
}

func newEventStream(ctx context.Context, a *answer, delay time.Duration) *eventStream {
	s := &eventStream{ctx: ctx, a: a, delay: delay}
	if len(a.calls) > 0 {
		s.steps = a.callSteps()
	} else {
		s.pieces = a.pieces()
	}
	return s
}

// step is one event of a streamed tool-call answer: the opening delta of a
// call (piece empty) or a piece of its arguments.
type step struct {
	call  int
	piece string
}

// callSteps streams each tool call as an opening delta and its arguments
// in two pieces, as real providers stream them.
func (a *answer) callSteps() []step {
	var out []step
	for i, tc := range a.calls {
		out = append(out, step{call: i})
		args := tc.args()
		half := len(args) / 2
		out = append(out, step{call: i, piece: args[:half]}, step{call: i, piece: args[half:]})
	}
	return out
}

// burst bounds what one Read produces when there is no delay.
const burst = 16 << 10

func (s *eventStream) Read(p []byte) (int, error) {
	if s.off == len(s.buf) {
		s.buf, s.off = s.buf[:0], 0
		if err := s.produce(); err != nil {
			return 0, err
		}
		// Without a delay every event is ready at once: hand them over
		// together, as a fast upstream's socket would.
		for s.delay == 0 && len(s.buf) < burst && s.produce() == nil {
		}
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

// produce appends the next event to buf.
func (s *eventStream) produce() error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	n := len(s.pieces) + len(s.steps)
	b := append(s.buf, "data: "...)
	switch {
	case s.next == 0 && s.a.chat:
		b = s.a.chunk(b, "", true, false)
	case s.next == 0:
		// Completions have no role chunk; go straight to the first word.
		s.next++
		return s.produce()
	case s.next <= n:
		if s.next > 1 && s.delay > 0 {
			if err := s.wait(); err != nil {
				return err
			}
		}
		if len(s.steps) > 0 {
			st := s.steps[s.next-1]
			if st.piece == "" {
				b = s.a.callChunk(b, st.call)
			} else {
				b = s.a.argsChunk(b, st.call, st.piece)
			}
		} else {
			b = s.a.chunk(b, s.pieces[s.next-1], false, false)
		}
	case s.next == n+1:
		b = s.a.chunk(b, "", false, true)
	case s.next == n+2:
		b = s.a.usageChunk(b)
	case s.next == n+3:
		b = append(b, "[DONE]"...)
	default:
		return io.EOF
	}
	b = append(b, "\n\n"...)
	s.next++
	s.buf = b
	return nil
}

func (s *eventStream) wait() error {
	if s.timer == nil {
		s.timer = time.NewTimer(s.delay)
	} else {
		s.timer.Reset(s.delay)
	}
	select {
	case <-s.timer.C:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func (s *eventStream) Close() error {
	if s.timer != nil {
		s.timer.Stop()
	}
	return nil
}
