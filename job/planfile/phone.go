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

// NormalisePhone reads a phone number as ops write it (+44 161 496 0000, +1 (212)
// 555-0100, +61.3.9555.0100, 0049 30 1234567, or the bare digits a spreadsheet leaves
// of +447911123456) as + and 8 to 15 digits. Spaces, '-', '.', '(' and ')' are dropped
// and a leading 00 is read as +; a country code is never guessed: a number that starts
// with a single 0 has none, and is an error, as is anything else that is not a number.
func NormalisePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if scientific.MatchString(s) {
		return "", errScientific
	}
	if float.MatchString(s) {
		s = s[:strings.IndexByte(s, '.')]
	}
	var b strings.Builder
	b.Grow(len(s) + 1)
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '\u00a0' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", errNotPhone
		}
	}
	digits := b.String()
	switch {
	case strings.HasPrefix(s, "+"):
	case strings.HasPrefix(digits, "00"):
		digits = digits[2:]
	case strings.HasPrefix(digits, "0"):
		return "", errNoCountry
	}
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", errNotPhone
	}
	return "+" + digits, nil
}

var (
	errScientific = errors.New("is in scientific notation: its last digits were lost when the spreadsheet saved it; format the column as Text and type the numbers again, or give the .xlsx itself")
	errNoCountry  = errors.New("has no country code (write it as +<country code> and the number, e.g. +44 161 496 0000)")
	errNotPhone   = errors.New("is not a phone number (+ and 8 to 15 digits, e.g. +44 161 496 0000)")
)
