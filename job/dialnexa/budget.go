package dialnexa

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Budget is what one answer stated of the API's rate limit, read from whichever of the
// usual headers it sent (README, "Requests, retries and the rate"):
//
//   - X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, as NestJS's throttler
//     sends them, where a named throttler adds a suffix (X-RateLimit-Remaining-short);
//   - the IETF draft's RateLimit-Policy: "default";q=400;w=10 and
//     RateLimit: "default";r=123;t=5 (and its earlier dictionary form,
//     RateLimit: limit=400, remaining=123, reset=5);
//   - the older draft's RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset.
//
// A Reset over 10⁹ is a Unix time (as GitHub sends it), read against the answer's Date
// header when it has one. When an answer names several limits, the tightest governs: the
// one with the fewest requests left (on a tie, the one that resets last).
type Budget struct {
	Stated    bool          // false: the answer said nothing usable of its rate limit
	Remaining int           // requests left until Reset
	Reset     time.Duration // until the window resets, from when the answer was sent
	Limit     int           // requests per window; 0 when not stated
	Window    time.Duration // the window's length; 0 when not stated
	Name      string        // the limit's name, "" when it has none
}

// Bounds on what a header may state: larger values are read as these.
const (
	maxBudgetCount = 1_000_000_000
	maxBudgetReset = 24 * time.Hour
	unixTimeAbove  = 1_000_000_000 // a Reset above this is a Unix time, not seconds
	maxParsed      = 100_000_000_000
)

// ParseBudget reads the rate-limit headers of an answer. now is the client's clock,
// used for a Unix-time Reset when the answer carries no Date. A value that cannot be
// read (a sign, a word, an unknown form) is ignored, never guessed at: a limit without
// a readable remaining count and reset (or window) is left out.
func ParseBudget(h http.Header, now time.Time) Budget {
	var keys []string
	for k, vs := range h {
		if len(vs) > 0 && (hasPrefixFold(k, "x-ratelimit-") || hasPrefixFold(k, "ratelimit")) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return Budget{}
	}
	// In a fixed order, whatever the map's: the policies before the RateLimit field, whose
	// own limit= (earlier draft) then wins; a header spelt twice, the same each time.
	slices.Sort(keys)
	var lims limits
	var ietf []string
	for _, k := range keys {
		vs := h[k]
		switch {
		case hasPrefixFold(k, "x-ratelimit-"):
			lims.xRateLimit("x-", k[len("x-ratelimit-"):], vs[0])
		case strings.EqualFold(k, "ratelimit"):
			ietf = append(ietf, vs...)
		case strings.EqualFold(k, "ratelimit-policy"):
			lims.policies(strings.Join(vs, ","))
		case hasPrefixFold(k, "ratelimit-"):
			lims.xRateLimit("draft-", k[len("ratelimit-"):], vs[0])
		}
	}
	if len(ietf) > 0 {
		lims.structured(strings.Join(ietf, ","))
	}
	if len(lims) == 0 {
		return Budget{}
	}
	ref := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		ref = d // the server's own clock: a Unix-time Reset is read against it
	}
	// Headers come in map order: sorted, ties are settled the same way every time.
	slices.SortFunc(lims, func(a, b *limit) int {
		return cmp.Or(strings.Compare(a.family, b.family), strings.Compare(a.name, b.name))
	})
	var best Budget
	for _, l := range lims {
		b, ok := l.budget(ref)
		if !ok {
			continue
		}
		if !best.Stated || b.Remaining < best.Remaining || (b.Remaining == best.Remaining && b.Reset > best.Reset) {
			best = b
		}
	}
	return best
}

// limit is one named limit as the headers give it (-1: not given).
type limit struct {
	family                 string // which headers: the same name in two families is two limits
	name                   string
	quota, remaining       int64
	window                 int64  // seconds
	reset                  string // seconds, or a Unix time, as sent
	hasRemaining, hasReset bool
}

type limits []*limit

func (ls *limits) get(family, name string) *limit {
	for _, l := range *ls {
		if l.family == family && strings.EqualFold(l.name, name) {
			return l
		}
	}
	l := &limit{family: family, name: strings.ToLower(name), quota: -1, remaining: -1, window: -1}
	*ls = append(*ls, l)
	return l
}

// xRateLimit reads one X-RateLimit-* (or RateLimit-*) header: rest is what follows the
// prefix, e.g. "Remaining" or "Remaining-short".
func (ls *limits) xRateLimit(family, rest, v string) {
	for _, kind := range [...]string{"limit", "remaining", "reset"} {
		if !hasPrefixFold(rest, kind) {
			continue
		}
		name := rest[len(kind):]
		if name != "" {
			if name[0] != '-' || len(name) == 1 {
				return // X-RateLimit-Resetting: not ours
			}
			name = name[1:]
		}
		// The older IETF draft lets RateLimit-Limit list policies after the quota
		// ("100, 100;w=60"): the first number is the one in force.
		first, _, _ := strings.Cut(v, ",")
		first, _, _ = strings.Cut(first, ";")
		first = strings.TrimSpace(first)
		switch kind {
		case "limit":
			if n, ok := parseCount(first); ok {
				ls.get(family, name).quota = n
			}
		case "remaining":
			if n, ok := parseCount(first); ok {
				l := ls.get(family, name)
				l.remaining, l.hasRemaining = n, true
			}
		case "reset":
			l := ls.get(family, name)
			l.reset, l.hasReset = first, true
		}
		return
	}
}

// structured reads the IETF RateLimit field: a list of named limits with r (remaining)
// and t (seconds to reset), or the earlier draft's dictionary limit=, remaining=, reset=.
func (ls *limits) structured(v string) {
	for _, member := range splitMembers(v) {
		item, params := splitParams(member)
		if key, val, isDict := strings.Cut(item, "="); isDict && !strings.HasPrefix(item, `"`) {
			l := ls.get("ietf", "")
			switch strings.ToLower(strings.TrimSpace(key)) {
			case "limit":
				if n, ok := parseCount(strings.TrimSpace(val)); ok {
					l.quota = n
				}
			case "remaining":
				if n, ok := parseCount(strings.TrimSpace(val)); ok {
					l.remaining, l.hasRemaining = n, true
				}
			case "reset":
				l.reset, l.hasReset = strings.TrimSpace(val), true
			}
			continue
		}
		name, ok := itemName(item)
		if !ok {
			continue
		}
		l := ls.get("ietf", name)
		if r, ok := params["r"]; ok {
			if n, ok := parseCount(r); ok {
				l.remaining, l.hasRemaining = n, true
			}
		}
		if t, ok := params["t"]; ok {
			l.reset, l.hasReset = t, true
		}
	}
}

// policies reads RateLimit-Policy: named limits with q (quota) and w (window, seconds),
// or the earlier draft's bare quota ("100;w=60").
func (ls *limits) policies(v string) {
	for _, member := range splitMembers(v) {
		item, params := splitParams(member)
		name, quota := "", int64(-1)
		if n, ok := parseCount(item); ok {
			quota = n
		} else if name, ok = itemName(item); !ok {
			continue
		}
		l := ls.get("ietf", name)
		if q, ok := params["q"]; ok {
			if n, ok := parseCount(q); ok {
				quota = n
			}
		}
		if quota >= 0 {
			l.quota = quota
		}
		if w, ok := params["w"]; ok {
			if n, ok := parseCount(w); ok {
				l.window = n
			}
		}
	}
}

// budget is l as a Budget: it needs a remaining count, and a reset (or, failing that,
// a window: the longest it can take to reset).
func (l *limit) budget(ref time.Time) (Budget, bool) {
	if !l.hasRemaining {
		return Budget{}, false
	}
	b := Budget{Stated: true, Remaining: int(min(l.remaining, maxBudgetCount)), Name: l.name}
	if l.quota >= 0 {
		b.Limit = int(min(l.quota, maxBudgetCount))
	}
	if l.window > 0 {
		b.Window = seconds(l.window)
	}
	reset, ok := parseReset(l.reset, ref)
	switch {
	case l.hasReset && ok:
		b.Reset = reset
	case b.Window > 0:
		b.Reset = b.Window
	default:
		return Budget{}, false
	}
	return b, true
}

// parseReset reads seconds to the reset (digits, with an optional fraction), or a Unix
// time when the number is over 10⁹, read against ref.
func parseReset(v string, ref time.Time) (time.Duration, bool) {
	d, ok := ParseSeconds(v, math.MaxInt64)
	if !ok {
		return 0, false
	}
	if d > unixTimeAbove*time.Second {
		d = time.Unix(0, 0).Add(d).Sub(ref)
	}
	return min(max(d, 0), maxBudgetReset), true
}

// ParseSeconds reads a count of seconds as HTTP headers write them, 1*DIGIT, with a
// decimal fraction tolerated ("1.5"), at most limit: an overlong run of digits is a long
// time, not an unreadable one. A sign, an exponent or anything else is unreadable.
func ParseSeconds(v string, limit time.Duration) (time.Duration, bool) {
	whole, frac, hasFrac := strings.Cut(v, ".")
	if hasFrac && !isDigits(frac) {
		return 0, false
	}
	n, ok := parseCount(whole)
	if !ok {
		return 0, false
	}
	if n >= int64(limit/time.Second) {
		return limit, true
	}
	return min(time.Duration(n)*time.Second+fraction(frac), limit), true
}

func seconds(n int64) time.Duration {
	return min(time.Duration(n)*time.Second, maxBudgetReset)
}

// fraction is the value of the digits after a decimal point, in nanoseconds at most.
func fraction(digits string) time.Duration {
	var d time.Duration
	for i, scale := 0, time.Second/10; i < len(digits) && scale > 0; i, scale = i+1, scale/10 {
		d += time.Duration(digits[i]-'0') * scale
	}
	return d
}

// parseCount reads a non-negative decimal integer, at most maxParsed: an overlong run
// of digits is a large number, not an unreadable one.
func parseCount(s string) (int64, bool) {
	if !isDigits(s) {
		return 0, false
	}
	s = strings.TrimLeft(s, "0")
	if len(s) > 12 {
		return maxParsed, true
	}
	n, _ := strconv.ParseInt("0"+s, 10, 64)
	return min(n, maxParsed), true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// splitMembers splits a structured-field list at its top-level commas (not those inside
// a quoted string).
func splitMembers(v string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// splitParams splits a member into its item and its ;key=value parameters.
func splitParams(member string) (string, map[string]string) {
	member = strings.TrimSpace(member)
	quoted, end := false, len(member)
	for i := 0; i < len(member); i++ {
		c := member[i]
		if quoted && c == '\\' {
			i++
			continue
		}
		if c == '"' {
			quoted = !quoted
		}
		if c == ';' && !quoted {
			end = i
			break
		}
	}
	item := strings.TrimSpace(member[:end])
	params := map[string]string{}
	if end < len(member) {
		for _, p := range strings.Split(member[end+1:], ";") {
			k, v, _ := strings.Cut(p, "=")
			params[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return item, params
}

// itemName reads a limit's name: a quoted string ("default") or a bare token.
func itemName(item string) (string, bool) {
	if item == "" {
		return "", false
	}
	if item[0] != '"' {
		for i := 0; i < len(item); i++ {
			if c := item[i]; c <= ' ' || c == '"' || c == '=' || c >= 0x7f {
				return "", false
			}
		}
		return item, true
	}
	var b strings.Builder
	for i := 1; i < len(item); i++ {
		switch c := item[i]; c {
		case '\\':
			if i+1 == len(item) {
				return "", false
			}
			i++
			b.WriteByte(item[i])
		case '"':
			return b.String(), i == len(item)-1
		default:
			b.WriteByte(c)
		}
	}
	return "", false // no closing quote
}
