package job

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Waves is --waves: the rows needing a write sent in cumulative waves, each a count of
// rows or a percentage (rounded up) of all of them, e.g. "1,10%,100%" or "5,50,100%".
// The zero value is no waves.
type Waves struct {
	steps []waveStep
	text  string
}

// waveStep is one entry of the list: n rows, or n percent of them.
type waveStep struct {
	n       int
	percent bool
}

// ParseWaves reads a --waves list. Counts must rise strictly, and so must percentages
// (from 1% to 100%); the list ends at 100%. Whether a count is above a percentage
// before it depends on how many rows need a write: Cuts merges a wave that would be
// empty into the one before.
func ParseWaves(s string) (Waves, error) {
	w := Waves{text: strings.TrimSpace(s)}
	if w.text == "" {
		return Waves{}, errors.New("an empty list: give counts or percentages ending at 100%, e.g. 1,10%,100%")
	}
	lastN, lastPct := 0, 0
	for _, part := range strings.Split(w.text, ",") {
		step, err := parseWaveStep(strings.TrimSpace(part))
		if err != nil {
			return Waves{}, err
		}
		switch {
		case step.percent && step.n <= lastPct:
			return Waves{}, fmt.Errorf("%d%% after %d%%: the waves must rise", step.n, lastPct)
		case !step.percent && step.n <= lastN:
			return Waves{}, fmt.Errorf("%d after %d: the waves must rise", step.n, lastN)
		case step.percent:
			lastPct = step.n
		default:
			lastN = step.n
		}
		w.steps = append(w.steps, step)
	}
	if last := w.steps[len(w.steps)-1]; !last.percent || last.n != 100 {
		return Waves{}, errors.New("the last wave must be 100%, so that every row is sent")
	}
	return w, nil
}

func parseWaveStep(s string) (waveStep, error) {
	num, pct := strings.CutSuffix(s, "%")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	switch {
	case err != nil:
		return waveStep{}, fmt.Errorf("%q is not a count of rows or a percentage", s)
	case pct && (n < 1 || n > 100):
		return waveStep{}, fmt.Errorf("%q: a percentage is 1%% to 100%%", s)
	case n < 1:
		return waveStep{}, fmt.Errorf("%q: a wave has at least 1 row", s)
	}
	return waveStep{n: n, percent: pct}, nil
}

// IsZero reports no waves.
func (w Waves) IsZero() bool { return len(w.steps) == 0 }

// String is the list as given.
func (w Waves) String() string { return w.text }

// Cuts is how many of total rows needing a write are sent by the end of each wave:
// cumulative, rising strictly, the last one total. A count beyond total is total; a wave
// that would add no row (a count at or below the wave before, or a small percentage of
// few rows) is merged into the one before. No waves, or total 0: nil.
func (w Waves) Cuts(total int) []int {
	var cuts []int
	for _, s := range w.steps {
		n := min(s.n, total)
		if s.percent {
			n = (s.n*total + 99) / 100
		}
		if n > 0 && (len(cuts) == 0 || n > cuts[len(cuts)-1]) {
			cuts = append(cuts, n)
		}
	}
	return cuts
}

// Allowance is --max-errors: how many rows not_found, rejected or forbidden a run may
// have, as a count, or as a percentage of the rows sent so far. The zero value is no
// limit, except where a run is strict (atomic): there it allows none.
type Allowance struct {
	Count   int
	Percent float64 // > 0: a percentage; Count is then 0
}

// ParseAllowance reads --max-errors: a whole number (0 = no limit) or a percentage
// ("2%", "0.5%").
func ParseAllowance(s string) (Allowance, error) {
	s = strings.TrimSpace(s)
	if num, ok := strings.CutSuffix(s, "%"); ok {
		p, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || math.IsNaN(p) || p <= 0 || p > 100 {
			return Allowance{}, fmt.Errorf("%q: a percentage is above 0%% and at most 100%%", s)
		}
		return Allowance{Percent: p}, nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return Allowance{}, fmt.Errorf("%q is not a count of rows or a percentage", s)
	case n < 0:
		return Allowance{}, fmt.Errorf("%d: must be 0 (no limit) or more", n)
	}
	return Allowance{Count: n}, nil
}

// IsZero reports an allowance of 0: no limit, or none allowed where the run is strict.
func (a Allowance) IsZero() bool { return a.Count == 0 && a.Percent == 0 }

// String is the allowance as --max-errors takes it: "2", "2%"; "0" for none.
func (a Allowance) String() string {
	if a.Percent > 0 {
		return strconv.FormatFloat(a.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(a.Count)
}

// Reached reports whether errors row errors among sent rows reach the allowance: a run
// without waves or atomicity stops sending then. A zero allowance is never reached.
func (a Allowance) Reached(errors, sent int) bool {
	switch {
	case errors == 0 || a.IsZero():
		return false
	case a.Percent > 0:
		return float64(errors)*100 >= a.Percent*float64(sent)
	}
	return errors >= a.Count
}

// Allows reports whether errors row errors among sent rows are within the allowance (a
// gate's check). A zero allowance allows any number, unless strict (an atomic run): then
// it allows none.
func (a Allowance) Allows(errors, sent int, strict bool) bool {
	switch {
	case a.IsZero():
		return !strict || errors == 0
	case a.Percent > 0:
		return float64(errors)*100 <= a.Percent*float64(sent)
	}
	return errors <= a.Count
}
