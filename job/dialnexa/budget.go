package dialnexa

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dunglas/httpsfv"
)

// Budget is what one answer stated of the API's rate limit, read from whichever of the
// usual headers it sent (docs/rate-and-retries.md):
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
	Ignored   int           // headers and members naming limits past MaxLimits, not read
}

// Bounds on what a header may state: larger values are read as these.
const (
	maxBudgetCount = 1_000_000_000
	maxBudgetReset = 24 * time.Hour
	unixTimeAbove  = 1_000_000_000 // a Reset above this is a Unix time, not seconds
	maxParsed      = 100_000_000_000
)

// MaxLimits is how many named limits an answer is read for, far more than any API
// names: the headers of the rest are ignored (Budget.Ignored counts them), so that an
// answer's headers cost time linear in their size and no more.
const MaxLimits = 64

// ParseBudget reads the rate-limit headers of an answer. now is the client's clock,
// used for a Unix-time Reset when the answer carries no Date. A value that cannot be
// read (a sign, a word, a structured field that is not one) is ignored, never guessed
// at: a limit without a readable remaining count and reset (or window) is left out.
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
	// In a fixed order, whatever the map's: the same limits are read, and ties settled,
	// the same way every time.
	slices.Sort(keys)
	lims := limits{byName: map[[2]string]*limit{}}
	var ietf, policy []string
	for _, k := range keys {
		vs := h[k]
		switch {
		case hasPrefixFold(k, "x-ratelimit-"):
			lims.xRateLimit("x-", k[len("x-ratelimit-"):], vs[0])
		case strings.EqualFold(k, "ratelimit"):
			ietf = append(ietf, vs...)
		case strings.EqualFold(k, "ratelimit-policy"):
			policy = append(policy, vs...)
		case hasPrefixFold(k, "ratelimit-"):
			lims.xRateLimit("draft-", k[len("ratelimit-"):], vs[0])
		}
	}
	// The policies first: the RateLimit field's own limit= (earlier draft) then wins.
	lims.policies(policy)
	lims.structured(ietf)
	ref := serverTime(h, now) // a Unix-time Reset is read against the server's clock
	slices.SortFunc(lims.all, func(a, b *limit) int {
		return cmp.Or(strings.Compare(a.family, b.family), strings.Compare(a.name, b.name))
	})
	var best Budget
	for _, l := range lims.all {
		b, ok := l.budget(ref)
		if ok && (!best.Stated || b.Remaining < best.Remaining || (b.Remaining == best.Remaining && b.Reset > best.Reset)) {
			best = b
		}
	}
	best.Ignored = lims.ignored
	return best
}

// serverTime is when the answer was sent by its Date header, or now if it has none.
func serverTime(h http.Header, now time.Time) time.Time {
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		return d
	}
	return now
}

// limit is one named limit as the headers give it (-1: not given).
type limit struct {
	family           string // which headers: the same name in two families is two limits
	name             string
	quota, remaining int64
	window           int64         // seconds
	reset            time.Duration // as sent: seconds, or a Unix time; -1 when not given
}

// limits are the limits an answer names, by family and lower-case name, at most
// MaxLimits of them; ignored counts the headers and members naming others.
type limits struct {
	byName  map[[2]string]*limit
	all     []*limit
	ignored int
}

// get is the limit of that family and name; nil when MaxLimits others came first.
func (ls *limits) get(family, name string) *limit {
	key := [2]string{family, strings.ToLower(name)}
	if l := ls.byName[key]; l != nil {
		return l
	}
	if len(ls.all) == MaxLimits {
		ls.ignored++
		return nil
	}
	l := &limit{family: family, name: key[1], quota: -1, remaining: -1, window: -1, reset: -1}
	ls.byName[key] = l
	ls.all = append(ls.all, l)
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
		l := ls.get(family, name)
		if l == nil {
			return
		}
		switch kind {
		case "limit":
			if n, ok := parseCount(first); ok {
				l.quota = n
			}
		case "remaining":
			if n, ok := parseCount(first); ok {
				l.remaining = n
			}
		case "reset":
			if d, ok := ParseSeconds(first, math.MaxInt64); ok {
				l.reset = d
			}
		}
		return
	}
}

// structured reads the IETF RateLimit field: a list of named limits with r (remaining)
// and t (seconds to reset), or the earlier draft's dictionary limit=, remaining=, reset=.
func (ls *limits) structured(field []string) {
	if len(field) == 0 {
		return
	}
	list, err := httpsfv.UnmarshalList(field)
	if err != nil {
		ls.dictionary(field)
		return
	}
	for _, m := range list {
		item, ok := m.(httpsfv.Item)
		name, named := itemName(item.Value)
		if !ok || !named {
			continue
		}
		if l := ls.get("ietf", name); l != nil {
			if n, ok := count(param(item, "r")); ok {
				l.remaining = n
			}
			if d, ok := secondsOf(param(item, "t")); ok {
				l.reset = d
			}
		}
	}
}

// dictionary reads the earlier draft's RateLimit: limit=100, remaining=50, reset=5.
func (ls *limits) dictionary(field []string) {
	d, err := httpsfv.UnmarshalDictionary(field)
	if err != nil {
		return
	}
	l := ls.get("ietf", "")
	value := func(key string) any {
		if m, ok := d.Get(key); ok {
			if item, ok := m.(httpsfv.Item); ok {
				return item.Value
			}
		}
		return nil
	}
	if n, ok := count(value("limit")); ok {
		l.quota = n
	}
	if n, ok := count(value("remaining")); ok {
		l.remaining = n
	}
	if t, ok := secondsOf(value("reset")); ok {
		l.reset = t
	}
}

// policies reads RateLimit-Policy: named limits with q (quota) and w (window, seconds),
// or the earlier draft's bare quota ("100;w=60").
func (ls *limits) policies(field []string) {
	if len(field) == 0 {
		return
	}
	list, err := httpsfv.UnmarshalList(field)
	if err != nil {
		return
	}
	for _, m := range list {
		item, ok := m.(httpsfv.Item)
		if !ok {
			continue
		}
		quota, isQuota := count(item.Value)
		name, named := itemName(item.Value)
		if !isQuota && !named {
			continue
		}
		l := ls.get("ietf", name)
		if l == nil {
			continue
		}
		if n, ok := count(param(item, "q")); ok {
			quota, isQuota = n, true
		}
		if isQuota {
			l.quota = quota
		}
		if n, ok := count(param(item, "w")); ok {
			l.window = n
		}
	}
}

// param is the value of an item's parameter; nil when it has none.
func param(item httpsfv.Item, key string) any {
	v, _ := item.Params.Get(key)
	return v
}

// itemName is a limit's name: a string ("default") or a token (default).
func itemName(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case httpsfv.Token:
		return string(v), true
	}
	return "", false
}

// count is a structured field's integer, when it is one and not negative.
func count(v any) (int64, bool) {
	n, ok := v.(int64)
	return n, ok && n >= 0
}

// secondsOf is a structured field's count of seconds: an integer or a decimal, not
// negative.
func secondsOf(v any) (time.Duration, bool) {
	var secs float64
	switch v := v.(type) {
	case int64:
		secs = float64(v)
	case float64:
		secs = v
	default:
		return 0, false
	}
	if secs < 0 {
		return 0, false
	}
	return time.Duration(min(secs, float64(math.MaxInt64/time.Second)) * float64(time.Second)), true
}

// budget is l as a Budget: it needs a remaining count, and a reset (or, failing that,
// a window: the longest it can take to reset). A reset over 10⁹ seconds is a Unix time,
// read against ref.
func (l *limit) budget(ref time.Time) (Budget, bool) {
	if l.remaining < 0 {
		return Budget{}, false
	}
	b := Budget{Stated: true, Remaining: int(min(l.remaining, maxBudgetCount)), Name: l.name}
	if l.quota >= 0 {
		b.Limit = int(min(l.quota, maxBudgetCount))
	}
	if l.window > 0 {
		b.Window = seconds(l.window)
	}
	switch reset := l.reset; {
	case reset > unixTimeAbove*time.Second:
		b.Reset = min(max(time.Unix(0, 0).Add(reset).Sub(ref), 0), maxBudgetReset)
	case reset >= 0:
		b.Reset = min(reset, maxBudgetReset)
	case b.Window > 0:
		b.Reset = b.Window
	default:
		return Budget{}, false
	}
	return b, true
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
