package keys

import (
	"fmt"
	"strconv"
	"time"
)

// Period is the span a budget covers, in UTC: a calendar day, an ISO week
// (starting Monday), a calendar month, or forever.
type Period string

// The budget periods.
const (
	Daily   Period = "daily"
	Weekly  Period = "weekly"
	Monthly Period = "monthly"
	Total   Period = "total"
)

// Valid reports whether p is one of the four periods.
func (p Period) Valid() bool {
	switch p {
	case Daily, Weekly, Monthly, Total:
		return true
	}
	return false
}

// Start is the first instant of the period that contains now; the zero
// time for Total.
func (p Period) Start(now time.Time) time.Time {
	now = now.UTC()
	y, m, d := now.Date()
	switch p {
	case Daily:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case Weekly:
		// Weekday counts from Sunday = 0; ISO weeks start on Monday.
		back := (int(now.Weekday()) + 6) % 7
		return time.Date(y, m, d-back, 0, 0, 0, 0, time.UTC)
	case Monthly:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// End is the first instant after the period that contains now (the start
// of the next one); the zero time for Total, which never ends.
func (p Period) End(now time.Time) time.Time {
	s := p.Start(now)
	switch p {
	case Daily:
		return s.AddDate(0, 0, 1)
	case Weekly:
		return s.AddDate(0, 0, 7)
	case Monthly:
		return s.AddDate(0, 1, 0)
	}
	return time.Time{}
}

// ID names the period that contains now, stably across processes and
// restarts: `d2026-03-01`, `w2026-W09` (ISO year and week), `m2026-03`,
// `total`. Stores key spend by it.
func (p Period) ID(now time.Time) string {
	now = now.UTC()
	switch p {
	case Daily:
		return "d" + now.Format("2006-01-02")
	case Weekly:
		y, w := now.ISOWeek()
		return fmt.Sprintf("w%04d-W%02d", y, w)
	case Monthly:
		return "m" + now.Format("2006-01")
	case Total:
		return "total"
	}
	return "unknown-" + strconv.Quote(string(p))
}
