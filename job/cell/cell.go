// Package cell is how every CSV the job writes (report, undo plan, export) holds a value,
// and how a plan cell is read back: a value a spreadsheet would run as a formula, or that
// reading back plainly would change, is marked with a leading ' and its control
// characters written as visible escapes, so that the plan reader gives back exactly what
// was written. The plan reader and the report writers both use it.
package cell

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"reassign/job"
)

// formulaStart holds the characters that make a spreadsheet take a cell as a formula.
const formulaStart = "=+-@\t\r"

// Escape is how every CSV the job writes (report, undo plan, export) holds the value s,
// so that a plan reader with the same null token reads back exactly s (docs/report.md,
// "Cells the job writes"). A value that reading back plainly might change gets a leading ':
// one a spreadsheet would run as a formula, one with surrounding white space, the word
// null or the null token (in any case), one holding a control character, or one that
// itself starts with '. Inside such a cell control characters and the backslash are
// written as visible escapes (\n, \t, \r, \x1b, \u0085, \\), so no cell of the job
// carries a raw line break or terminal escape. Every other value is written as it is.
func Escape(s, nullToken string) string {
	if !needsMark(s, nullToken) {
		return s
	}
	return "'" + escapeBody(s)
}

// EscapeField is Escape for a plan field: a null field is written as the null token it
// was planned with, which reads back as null.
func EscapeField(f job.Field, nullToken string) string {
	if f.Null {
		return f.Raw
	}
	return Escape(f.Raw, nullToken)
}

// Unescape reads one plan cell c: a cell that Escape wrote with its ' gives back the
// value literally (not trimmed, never the null token, control characters allowed);
// any other cell is trimmed of surrounding white space, and marked is false.
func Unescape(c, nullToken string) (v string, marked bool) {
	if len(c) > 1 && c[0] == '\'' {
		if v, ok := markedValue(c[1:], nullToken); ok {
			return v, true
		}
	}
	return strings.TrimSpace(c), false
}

// ParseField reads one agent_id, agent, nickname or label cell as the plan reader does:
// empty is not sent, the null token (any case, unless the cell is marked) is null.
func ParseField(c, nullToken string) job.Field {
	v, marked := Unescape(c, nullToken)
	return job.Field{Raw: v, Null: !marked && v != "" && strings.EqualFold(v, nullToken)}
}

// needsMark reports whether reading s back plainly (trimmed, the null token as null, a
// ' taken as a mark) might not give s, or a spreadsheet would run it. Every value that
// starts with ' is marked: deciding whether its ' would be taken as a mark would look
// at the value behind it, and again behind that one.
func needsMark(s, nullToken string) bool {
	return s != "" && (strings.IndexByte(formulaStart, s[0]) >= 0 || s[0] == '\'' ||
		s != strings.TrimSpace(s) || strings.EqualFold(s, "null") || strings.EqualFold(s, nullToken) ||
		strings.IndexFunc(s, IsControl) >= 0 || !utf8.ValidString(s))
}

// markedValue reads body, a cell after its ': the value Escape gave it, if Escape would
// have written exactly this for it.
func markedValue(body, nullToken string) (string, bool) {
	v, ok := unescapeBody(body)
	if !ok || !needsMark(v, nullToken) || escapeBody(v) != body {
		return "", false
	}
	return v, true
}

// escapeBody writes control characters, bytes that are not UTF-8 and the backslash as
// visible escapes.
func escapeBody(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r == '\\' || IsControl(r) || r == utf8.RuneError }) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case IsControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unescapeBody undoes escapeBody; ok is false for a backslash escapeBody never writes.
func unescapeBody(s string) (string, bool) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x', 'u':
			n := 2
			if s[i] == 'u' {
				n = 4
			}
			if i+n >= len(s) {
				return "", false
			}
			x, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
			if err != nil {
				return "", false
			}
			if n == 2 {
				b.WriteByte(byte(x))
			} else {
				b.WriteRune(rune(x))
			}
			i += n
		default:
			return "", false
		}
	}
	return b.String(), true
}

// IsControl reports whether r is a control character (C0, DEL or C1): what no cell the
// job writes holds raw, and what a plan cell may not hold.
func IsControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f)
}

// CheckNullToken refuses a null token that a CSV the job writes could not hold as it is
// (docs/report.md, "Cells the job writes"): it must read back plainly as itself, and must not
// run as a spreadsheet formula.
func CheckNullToken(token string) error {
	switch {
	case token == "":
		return errors.New("must not be empty")
	case token != strings.TrimSpace(token), strings.IndexFunc(token, IsControl) >= 0, !utf8.ValidString(token):
		return fmt.Errorf("%q: must not have surrounding spaces or control characters", token)
	case strings.IndexByte(formulaStart, token[0]) >= 0:
		return fmt.Errorf("%q: must not start with =, +, - or @ (a spreadsheet would run it as a formula)", token)
	}
	if _, marked := Unescape(token, token); marked {
		return fmt.Errorf("%q: must not look like a cell the job marks with '", token)
	}
	return nil
}
