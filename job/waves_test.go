package job

import (
	"slices"
	"strings"
	"testing"
)

// TestParseWaves: the lists --waves takes, how each cuts the rows needing a write, and
// the lists it refuses.
func TestParseWaves(t *testing.T) {
	t.Parallel()
	cases := []struct {
		list  string
		total int
		cuts  []int
	}{
		{"1,10%,100%", 500, []int{1, 50, 500}},
		{"1,10%,100%", 1204, []int{1, 121, 1204}}, // 10% of 1,204 is 120.4: rounded up
		{"5,50,100%", 500, []int{5, 50, 500}},
		{"5,50,100%", 30, []int{5, 30}}, // 50 is beyond the rows: merged into the last
		{"1,10%,100%", 3, []int{1, 3}},  // 10% of 3 is one row: no wave of its own
		{"100%", 7, []int{7}},
		{" 1 , 10 % ,100%", 20, []int{1, 2, 20}},
		{"50%,10,100%", 10, []int{5, 10}}, // 10 rows is 100%: the last wave adds none
		{"1,10%,100%", 0, nil},
	}
	for _, tc := range cases {
		w, err := ParseWaves(tc.list)
		if err != nil {
			t.Errorf("ParseWaves(%q): %v", tc.list, err)
			continue
		}
		if got := w.Cuts(tc.total); !slices.Equal(got, tc.cuts) {
			t.Errorf("%q of %d rows: cuts %v, want %v", tc.list, tc.total, got, tc.cuts)
		}
	}
	for list, want := range map[string]string{
		"":           "an empty list",
		"1,10%":      "the last wave must be 100%",
		"10,5,100%":  "5 after 10",
		"50%,50%":    "50% after 50%",
		"0,100%":     "at least 1 row",
		"1,101%":     "1% to 100%",
		"1,x,100%":   `"x" is not a count`,
		"1,,100%":    `"" is not a count`,
		"1,100%,50%": "50% after 100%",
	} {
		if _, err := ParseWaves(list); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseWaves(%q) = %v, want an error saying %q", list, err, want)
		}
	}
}

// TestAllowance: --max-errors as a count or a percentage of the rows sent: when a run
// without gates stops (Reached), what a gate allows (Allows), strict or not.
func TestAllowance(t *testing.T) {
	t.Parallel()
	cases := []struct {
		flag            string
		errors, sent    int
		reached, allows bool
		allowsStrict    bool
		wantString      string
	}{
		{"0", 5, 10, false, true, false, "0"},
		{"0", 0, 10, false, true, true, "0"},
		{"3", 2, 10, false, true, true, "3"},
		{"3", 3, 10, true, true, true, "3"},
		{"3", 4, 10, true, false, false, "3"},
		{"2%", 1, 50, true, true, true, "2%"},
		{"2%", 2, 50, true, false, false, "2%"},
		{"2%", 1, 1, true, false, false, "2%"},
		{"0.5%", 2, 400, true, true, true, "0.5%"},
		{"0.5%", 1, 400, false, true, true, "0.5%"},
		{" 10 % ", 0, 0, false, true, true, "10%"},
	}
	for _, tc := range cases {
		a, err := ParseAllowance(tc.flag)
		if err != nil {
			t.Errorf("ParseAllowance(%q): %v", tc.flag, err)
			continue
		}
		if a.String() != tc.wantString || a.Reached(tc.errors, tc.sent) != tc.reached ||
			a.Allows(tc.errors, tc.sent, false) != tc.allows || a.Allows(tc.errors, tc.sent, true) != tc.allowsStrict {
			t.Errorf("%q with %d of %d: %s, reached %v, allows %v, strictly %v; want %s, %v, %v, %v", tc.flag, tc.errors, tc.sent, a,
				a.Reached(tc.errors, tc.sent), a.Allows(tc.errors, tc.sent, false), a.Allows(tc.errors, tc.sent, true),
				tc.wantString, tc.reached, tc.allows, tc.allowsStrict)
		}
	}
	for _, bad := range []string{"-1", "x", "0%", "101%", "NaN%", "1.5"} {
		if _, err := ParseAllowance(bad); err == nil {
			t.Errorf("ParseAllowance(%q) accepted", bad)
		}
	}
}
