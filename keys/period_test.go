package keys

import (
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPeriods(t *testing.T) {
	for _, tc := range []struct {
		p              Period
		now            string
		start, end, id string
	}{
		{Daily, "2026-03-11T10:00:00Z", "2026-03-11T00:00:00Z", "2026-03-12T00:00:00Z", "d2026-03-11"},
		{Daily, "2026-03-11T23:59:59.999Z", "2026-03-11T00:00:00Z", "2026-03-12T00:00:00Z", "d2026-03-11"},
		{Daily, "2026-03-12T00:00:00Z", "2026-03-12T00:00:00Z", "2026-03-13T00:00:00Z", "d2026-03-12"},
		{Daily, "2025-12-31T23:30:00Z", "2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z", "d2025-12-31"},
		// Another zone: the UTC calendar day counts.
		{Daily, "2026-03-10T20:00:00-08:00", "2026-03-11T00:00:00Z", "2026-03-12T00:00:00Z", "d2026-03-11"},
		// ISO weeks start on Monday.
		{Weekly, "2026-03-11T10:00:00Z", "2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z", "w2026-W11"},
		{Weekly, "2026-03-15T23:59:59Z", "2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z", "w2026-W11"},
		{Weekly, "2026-03-16T00:00:00Z", "2026-03-16T00:00:00Z", "2026-03-23T00:00:00Z", "w2026-W12"},
		{Weekly, "2026-03-09T00:00:00Z", "2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z", "w2026-W11"},
		// Weeks across the year change take the ISO year.
		{Weekly, "2026-01-01T12:00:00Z", "2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z", "w2026-W01"},
		{Weekly, "2024-12-30T00:00:00Z", "2024-12-30T00:00:00Z", "2025-01-06T00:00:00Z", "w2025-W01"},
		{Weekly, "2021-01-03T23:00:00Z", "2020-12-28T00:00:00Z", "2021-01-04T00:00:00Z", "w2020-W53"},
		// Months of every length, February in leap years and not.
		{Monthly, "2024-02-29T23:59:59Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z", "m2024-02"},
		{Monthly, "2025-02-28T12:00:00Z", "2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z", "m2025-02"},
		{Monthly, "2000-02-29T00:00:00Z", "2000-02-01T00:00:00Z", "2000-03-01T00:00:00Z", "m2000-02"},
		{Monthly, "2026-01-31T10:00:00Z", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "m2026-01"},
		{Monthly, "2026-04-30T10:00:00Z", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z", "m2026-04"},
		{Monthly, "2025-12-31T23:59:59.999Z", "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z", "m2025-12"},
		{Monthly, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "m2026-01"},
	} {
		now := utc(tc.now)
		if got := tc.p.Start(now); !got.Equal(utc(tc.start)) || got.Location() != time.UTC {
			t.Errorf("%s Start(%s) = %s, want %s", tc.p, tc.now, got, tc.start)
		}
		if got := tc.p.End(now); !got.Equal(utc(tc.end)) {
			t.Errorf("%s End(%s) = %s, want %s", tc.p, tc.now, got, tc.end)
		}
		if got := tc.p.ID(now); got != tc.id {
			t.Errorf("%s ID(%s) = %s, want %s", tc.p, tc.now, got, tc.id)
		}
	}
	now := utc("2026-03-11T10:00:00Z")
	if !Total.Start(now).IsZero() || !Total.End(now).IsZero() || Total.ID(now) != "total" || Total.ID(now.AddDate(10, 0, 0)) != "total" {
		t.Error("total is not forever")
	}
}

// TestPeriodsContiguous: every period ends where the next one starts, and
// its ID holds across it, for every hour of three years.
func TestPeriodsContiguous(t *testing.T) {
	for _, p := range []Period{Daily, Weekly, Monthly} {
		for now := utc("2023-12-25T00:30:00Z"); now.Year() < 2027; now = now.Add(time.Hour) {
			start, end := p.Start(now), p.End(now)
			if now.Before(start) || !now.Before(end) {
				t.Fatalf("%s: %s not in [%s, %s)", p, now, start, end)
			}
			if p.ID(start) != p.ID(now) || p.ID(end.Add(-time.Nanosecond)) != p.ID(now) || p.ID(end) == p.ID(now) {
				t.Fatalf("%s: ID changes inside [%s, %s) or not at its end", p, start, end)
			}
			if !p.Start(end).Equal(end) {
				t.Fatalf("%s: the next period starts at %s, not at %s", p, p.Start(end), end)
			}
		}
	}
}

func TestBudgetCurrent(t *testing.T) {
	b := NewBudget(5, Daily)
	id, end := b.Current(utc("2026-03-11T10:00:00Z"))
	if id != "d2026-03-11" || !end.Equal(utc("2026-03-12T00:00:00Z")) {
		t.Fatalf("%s %s", id, end)
	}
	if id, _ = b.Current(utc("2026-03-12T00:00:00Z")); id != "d2026-03-12" {
		t.Fatalf("after midnight: %s", id)
	}
	if id, _ = b.Current(utc("2026-03-11T23:00:00Z")); id != "d2026-03-11" {
		t.Fatalf("a clock set back: %s", id)
	}
	if id, end = NewBudget(1, Total).Current(utc("2026-03-11T23:00:00Z")); id != "total" || !end.IsZero() {
		t.Fatalf("total: %s %s", id, end)
	}
	if n := b.Nano(); n != 5_000_000_000 {
		t.Fatalf("Nano %d", n)
	}
	if ToNano(0.1)+ToNano(0.2) != ToNano(0.3) || ToNano(-1) != 0 || FromNano(1_500_000_000) != 1.5 {
		t.Fatal("nano conversions")
	}
}
