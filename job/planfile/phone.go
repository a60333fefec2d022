package planfile

import (
	"errors"
	"regexp"
	"strings"
)

// scientific is a number as a spreadsheet shows it in scientific notation (4.47911E+11):
// written to CSV that way, its last digits are gone.
var scientific = regexp.MustCompile(`^[0-9]+([.,][0-9]*)?[eE][+]?[0-9]+$`)

// float is a whole number as a program that keeps numbers as floats writes it
// (447911123456.0): the digits are all there, the ".0" is not part of the number.
var float = regexp.MustCompile(`^[0-9]+\.0+$`)

// fraction is a number with a fractional part (44791112345.6): a value a program
// computed or a spreadsheet rounded, not a phone number whose dot is a separator
// (+61.3.9555.0100 has several, after a short group).
var fraction = regexp.MustCompile(`^[0-9]{6,}\.[0-9]+$`)

// trunk is the national trunk prefix written in brackets after a country code, as in
// +44 (0) 20 7183 8750: dialled from abroad it is left out.
var trunk = regexp.MustCompile(`^((?:\+|00)[^()]*[0-9][^()]*?)\(\s*0\s*\)`)

// NormalisePhone reads a phone number as ops write it (+44 161 496 0000, +1 (212)
// 555-0100, +61.3.9555.0100, +44 (0) 20 7183 8750, 0049 30 1234567, or the bare digits
// a spreadsheet leaves of +447911123456) as + and 8 to 15 digits. Spaces, '-', '.', '('
// and ')' are dropped, a trunk (0) after the country code too, and a leading 00 is read
// as +; a country code is never guessed: a number that starts with a single 0 has
// none, and is an error, as is a number with a fractional part and anything else that
// is not a number.
func NormalisePhone(s string) (string, error) {
	phone, _, err := readPhone(s)
	return phone, err
}

// readPhone is NormalisePhone, and says whether s was bare digits (no + or 00): its
// country code is then read from digits a spreadsheet may have cut short.
func readPhone(s string) (phone string, bare bool, err error) {
	s = strings.TrimSpace(s)
	if scientific.MatchString(s) {
		return "", false, errScientific
	}
	if float.MatchString(s) {
		s = s[:strings.IndexByte(s, '.')]
	} else if fraction.MatchString(s) {
		return "", false, errFraction
	}
	s = trunk.ReplaceAllString(s, "$1")
	var b strings.Builder
	b.Grow(len(s) + 1)
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '\u00a0' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", false, errNotPhone
		}
	}
	digits := b.String()
	switch {
	case strings.HasPrefix(s, "+"):
	case strings.HasPrefix(digits, "00"):
		digits = digits[2:]
	case strings.HasPrefix(digits, "0"):
		return "", false, errNoCountry
	default:
		bare = true
	}
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", false, errNotPhone
	}
	return "+" + digits, bare, nil
}

var (
	errScientific = errors.New("is in scientific notation: its last digits were lost when the spreadsheet saved it; format the column as Text and type the numbers again, or give the .xlsx itself")
	errNoCountry  = errors.New("has no country code (write it as +<country code> and the number, e.g. +44 161 496 0000)")
	errFraction   = errors.New("has a fractional part: a phone number has none (a program or a spreadsheet changed it); format the column as Text and type the numbers again, or give the .xlsx itself")
	errNotPhone   = errors.New("is not a phone number (+ and 8 to 15 digits, e.g. +44 161 496 0000)")
)
