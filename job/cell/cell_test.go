package cell_test

import (
	"strings"
	"testing"

	"reassign/job"
	"reassign/job/cell"
)

// TestEscape: what each awkward value is written as, and that the reader gives it back.
func TestEscape(t *testing.T) {
	cases := []struct {
		token, in, want string
	}{
		{"null", "", ""},
		{"null", "plain", "plain"},
		{"null", "a=b", "a=b"},
		{"null", `back\slash`, `back\slash`}, // escapes only inside a marked cell
		{"null", "'Tis", "''Tis"},            // a value that starts with ' is marked
		{"null", "''", "'''"},
		{"null", "'", "''"},
		{"null", "=SUM(A1)", "'=SUM(A1)"},
		{"null", "+4420", "'+4420"},
		{"null", "-x", "'-x"},
		{"null", "@cmd", "'@cmd"},
		{"null", "\tx", `'\tx`},
		{"null", "\rx", `'\rx`},
		{"null", "null", "'null"},
		{"null", "NULL", "'NULL"},
		{"null", "Null", "'Null"},
		{"<clear>", "null", "'null"}, // the word null, whatever the token
		{"<clear>", "<CLEAR>", "'<CLEAR>"},
		{"null", " padded ", "' padded "},
		{"null", "trailing ", "'trailing "},
		{"null", "   ", "'   "},
		{"null", "\u00a0nbsp", "'\u00a0nbsp"},
		{"null", "two\nlines", `'two\nlines`},
		{"null", "red \x1b[31mtext\x1b[0m", `'red \x1b[31mtext\x1b[0m`},
		{"null", "a\\b\x00", `'a\\b\x00`},
		{"null", "del\x7f", `'del\x7f`},
		{"null", "c1\u0085", `'c1\u0085`},
		{"null", "bad\xffutf8", `'bad\xffutf8`},
		{"null", "'=x", "''=x"},
		{"null", "''=x", "'''=x"},
		{"null", "'null", "''null"},
		{"null", "' x", "'' x"},
		{"null", `'\n`, `''\\n`}, // read plainly, '\n would be a line break
	}
	for _, c := range cases {
		got := cell.Escape(c.in, c.token)
		if got != c.want {
			t.Errorf("Escape(%q, %q) = %q, want %q", c.in, c.token, got, c.want)
		}
		if strings.IndexFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f }) >= 0 {
			t.Errorf("Escape(%q) = %q holds a control character", c.in, got)
		}
		f := cell.ParseField(got, c.token)
		if f.Null || f.Raw != c.in {
			t.Errorf("ParseField(%q, %q) = %+v, want %q back", got, c.token, f, c.in)
		}
	}
}

// TestUnescape: cells as people type them read as before; only what Escape writes is
// taken literally.
func TestUnescape(t *testing.T) {
	cases := []struct {
		cell string
		want job.Field
	}{
		{"  x  ", job.Field{Raw: "x"}},
		{"null", job.Field{Raw: "null", Null: true}},
		{" NULL ", job.Field{Raw: "NULL", Null: true}},
		{"'null", job.Field{Raw: "null"}},
		{"'=x", job.Field{Raw: "=x"}},
		{"'+44 20", job.Field{Raw: "+44 20"}},
		{" '=x", job.Field{Raw: "'=x"}},  // the mark is the cell's first character
		{"'Tis", job.Field{Raw: "'Tis"}}, // typed by a person: Tis needs no mark
		{"''Tis", job.Field{Raw: "'Tis"}},
		{"'x ", job.Field{Raw: "x "}},   // what Escape writes for "x "
		{"'x", job.Field{Raw: "'x"}},    // nothing to mark
		{`'\q`, job.Field{Raw: `'\q`}},  // no such escape
		{`'a\n`, job.Field{Raw: "a\n"}}, // a line break the job wrote
		{`'\x1B`, job.Field{Raw: `'\x1B`}},
		{`'\x1b`, job.Field{Raw: "\x1b"}},
		{`'\x4`, job.Field{Raw: `'\x4`}},
		{`'\`, job.Field{Raw: `'\`}},
		{`'\x41=`, job.Field{Raw: `'\x41=`}}, // A needs no escape: not what Escape writes
		{"", job.Field{}},
	}
	for _, c := range cases {
		if got := cell.ParseField(c.cell, "null"); got != c.want {
			t.Errorf("ParseField(%q) = %+v, want %+v", c.cell, got, c.want)
		}
	}
	if f := (job.Field{Raw: "NULL", Null: true}); cell.EscapeField(f, "null") != "NULL" {
		t.Errorf("a null field is written as its token: %q", cell.EscapeField(f, "null"))
	}
}
