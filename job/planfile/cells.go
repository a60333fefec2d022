package planfile

import "strings"

// formulaStart holds the characters that make a spreadsheet take a cell as a formula.
const formulaStart = "=+-@\t\r"

// Escape is how every CSV the job writes (report, undo plan, export) writes a cell: one
// that a spreadsheet would run as a formula gets a leading '. The plan reader drops that
// ' again (Unescape), so a file the job wrote reads back as written.
func Escape(s string) string {
	if s != "" && strings.IndexByte(formulaStart, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// Unescape undoes Escape.
func Unescape(s string) string {
	if len(s) >= 2 && s[0] == '\'' && strings.IndexByte(formulaStart, s[1]) >= 0 {
		return s[1:]
	}
	return s
}
