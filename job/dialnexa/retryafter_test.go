package dialnexa

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

var retryNow = time.Date(2025, time.March, 1, 10, 0, 0, 0, time.UTC) // a Saturday

func TestParseRetryAfter(t *testing.T) {
	date := func(d time.Duration) string { return retryNow.Add(d).Format(http.TimeFormat) }
	cases := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{"00", 0, true},
		{" 5 ", 5 * time.Second, true},
		{"\t7\r\n", 7 * time.Second, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"59", 59 * time.Second, true},
		{"60", 60 * time.Second, true},
		{"61", 61 * time.Second, true},
		{"3600", time.Hour, true},
		{"99999999999999999999999999", maxBudgetReset, true},
		{strings.Repeat("9", 400), maxBudgetReset, true},
		{"120.5", 120500 * time.Millisecond, true},
		{"-1", 0, false},
		{"-0", 0, false},
		{"+5", 0, false},
		{"abc", 0, false},
		{"", 0, false},
		{"   ", 0, false},
		{"5s", 0, false},
		{"5 6", 0, false},
		{"5,6", 0, false},
		{"1.", 0, false},
		{".5", 0, false},
		{"1.2.3", 0, false},
		{"1e3", 0, false},
		{"1e400", 0, false},
		{"Inf", 0, false},
		{"+Inf", 0, false},
		{"NaN", 0, false},
		{"0x10", 0, false},
		{"1_000", 0, false},
		{"٣", 0, false}, // an Arabic-Indic digit is not a DIGIT
		{date(30 * time.Second), 30 * time.Second, true},
		{date(59 * time.Second), 59 * time.Second, true},
		{date(0), 0, true},
		{date(-time.Hour), 0, true},
		{date(-100 * 24 * 365 * time.Hour), 0, true},
		{date(2 * time.Minute), 2 * time.Minute, true},
		{date(24 * 365 * time.Hour), maxBudgetReset, true},
		{"Sat, 01 Mar 2025 10:00:12 GMT", 12 * time.Second, true},
		{"  Sat, 01 Mar 2025 10:00:12 GMT  ", 12 * time.Second, true},
		{"Fri, 31 Dec 9999 23:59:59 GMT", maxBudgetReset, true},
		{"Saturday, 01-Mar-25 10:00:20 GMT", 20 * time.Second, true}, // RFC 850
		{"Saturday, 01-Mar-25 09:00:20 GMT", 0, true},
		{"Sat Mar  1 10:00:45 2025", 45 * time.Second, true}, // asctime
		{"Sat Mar  1 11:00:45 2025", time.Hour + 45*time.Second, true},
		{"Sat, 01 Mar 2025 10:00:12", 0, false},
		{"2025-03-01T10:00:12Z", 0, false},
		{"Sat, 32 Mar 2025 10:00:12 GMT", 0, false},
	}
	for _, tc := range cases {
		got, ok := ParseRetryAfter(tc.in, retryNow)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
	// The date is measured from the given now, not the clock.
	past := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if got, ok := ParseRetryAfter(past.Add(9*time.Second).Format(http.TimeFormat), past); got != 9*time.Second || !ok {
		t.Errorf("relative to now: %v, %v", got, ok)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{
		"3", "0", " 5 ", "1.5", "-1", "abc", "", "120", "1e9", "NaN", "Inf", "+5", "0x10",
		strings.Repeat("9", 40),
		"Sat, 01 Mar 2025 10:00:12 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT",
		"Saturday, 01-Mar-25 10:00:20 GMT", "Sat Mar  1 10:00:45 2025",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, retryNow)
		if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v: negative", v, d)
		}
		if d > maxBudgetReset {
			t.Fatalf("ParseRetryAfter(%q) = %v: over a day", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, false: want 0 when not ok", v, d)
		}
		// A plain run of ASCII digits is always a valid delay-seconds.
		if s := strings.TrimSpace(v); s != "" && strings.Trim(s, "0123456789") == "" && !ok {
			t.Fatalf("ParseRetryAfter(%q) refused delay-seconds", v)
		}
		// The answer depends on v and now only.
		if d2, ok2 := ParseRetryAfter(v, retryNow); d2 != d || ok2 != ok {
			t.Fatalf("ParseRetryAfter(%q) not deterministic", v)
		}
	})
}
