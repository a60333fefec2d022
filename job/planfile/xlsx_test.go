package planfile

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

// TestEncrypted: the marker of an encrypted workbook is found wherever it lies, however
// the bytes are split between reads.
func TestEncrypted(t *testing.T) {
	name := "E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o\x00"
	filler := strings.Repeat("\x00", 64<<10-7) // the name spans the first two reads
	for what, c := range map[string]struct {
		data string
		want bool
	}{
		"at the start":   {name, true},
		"across reads":   {filler + name, true},
		"far in":         {strings.Repeat(filler, 5) + name + filler, true},
		"an old .xls":    {filler + "W\x00o\x00r\x00k\x00b\x00o\x00o\x00k\x00", false},
		"half the name":  {filler + name[:10], false},
		"empty":          {"", false},
		"byte by byte":   {"xx" + name, true},
		"name, then EOF": {strings.Repeat("y", 3) + name, true},
	} {
		r := bytes.NewReader([]byte(c.data))
		got := encrypted(r)
		if what == "byte by byte" {
			got = encrypted(iotest.OneByteReader(bytes.NewReader([]byte(c.data))))
		}
		if got != c.want {
			t.Errorf("%s: encrypted = %v, want %v", what, got, c.want)
		}
	}
}
