// Package xlsxtest writes .xlsx workbooks by hand for tests: the few small XML parts of
// a minimal workbook, with whatever sheet, list of sheets and shared strings a test
// needs, and parts that unpack to hundreds of megabytes from a few hundred kilobytes
// (as testdata/xlsx/hostile.py writes them for measuring the built program).
package xlsxtest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
)

// Part is one part of a workbook: Head, then Repeat copies of Filler, then Tail.
type Part struct {
	Name       string
	Head, Tail string
	Filler     string
	Repeat     int64
	// DeclaredSize, when not 0, is the unpacked size the zip claims for the part in
	// place of its true size.
	DeclaredSize int64
}

// Namespaces of a sheet and of a workbook's list of sheets.
const (
	Main = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	Rels = `xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
)

// Sheet is one sheet of a workbook Book writes.
type Sheet struct {
	Name  string
	State string // "", "hidden" or "veryHidden"
	Data  string // what sheetData holds
	After string // what follows sheetData (mergeCells)
}

// Book returns the parts of a workbook with sheets and, unless strings is nil, those
// shared strings.
func Book(sheets []Sheet, shared []string) []Part {
	var list, rels strings.Builder
	var parts []Part
	for i, s := range sheets {
		state := ""
		if s.State != "" {
			state = ` state="` + s.State + `"`
		}
		fmt.Fprintf(&list, `<sheet name="%s" sheetId="%d"%s r:id="rId%d"/>`, s.Name, i+1, state, i+1)
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet%d.xml"/>`, i+1, i+1)
		parts = append(parts, Part{Name: fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1),
			Head: `<worksheet ` + Main + `><sheetData>` + s.Data + `</sheetData>` + s.After + `</worksheet>`})
	}
	if shared != nil {
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>`, len(sheets)+1)
		parts = append(parts, Part{Name: "xl/sharedStrings.xml", Head: SharedStrings(shared...)})
	}
	return append(parts,
		Part{Name: "[Content_Types].xml", Head: `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`},
		Part{Name: "_rels/.rels", Head: `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		Part{Name: "xl/workbook.xml", Head: `<workbook ` + Main + ` ` + Rels + `><sheets>` + list.String() + `</sheets></workbook>`},
		Part{Name: "xl/_rels/workbook.xml.rels", Head: `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels.String() + `</Relationships>`},
	)
}

// SharedStrings is a shared strings part holding texts, each its own si.
func SharedStrings(texts ...string) string {
	var b strings.Builder
	b.WriteString(`<sst ` + Main + `>`)
	for _, s := range texts {
		b.WriteString(`<si><t>` + s + `</t></si>`)
	}
	b.WriteString(`</sst>`)
	return b.String()
}

// Row is a row element numbered n (none when n is 0) of inline-string cells, one a
// column from A, an empty value leaving its cell out.
func Row(n int, cells ...string) string {
	var b strings.Builder
	if n > 0 {
		fmt.Fprintf(&b, `<row r="%d">`, n)
	} else {
		b.WriteString(`<row>`)
	}
	for i, c := range cells {
		if c == "" {
			continue
		}
		ref := ""
		if n > 0 {
			ref = fmt.Sprintf(` r="%c%d"`, 'A'+i, n)
		}
		fmt.Fprintf(&b, `<c%s t="inlineStr"><is><t>%s</t></is></c>`, ref, c)
	}
	b.WriteString(`</row>`)
	return b.String()
}

// Replace returns parts with the part named name in place of the one of that name.
func Replace(parts []Part, p Part) []Part {
	out := make([]Part, 0, len(parts))
	for _, q := range parts {
		if q.Name != p.Name {
			out = append(out, q)
		}
	}
	return append(out, p)
}

// Zip returns the workbook of parts.
func Zip(parts []Part) ([]byte, error) {
	var buf bytes.Buffer
	if err := Write(&buf, parts); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteFile writes the workbook of parts to path.
func WriteFile(path string, parts []Part) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := Write(f, parts); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Write writes the workbook of parts to w: the parts with a filler deflated, the
// others stored as they are. A filler is deflated once, a megabyte of it, and that
// block repeated: a part of 900 MB takes a second to write, not a minute.
func Write(w io.Writer, parts []Part) error {
	zw := zip.NewWriter(w)
	for _, p := range parts {
		method, raw := zip.Store, []byte(p.Head+p.Tail)
		crc, size := crc32.ChecksumIEEE(raw), int64(len(raw))
		if p.Repeat > 0 {
			var err error
			method = zip.Deflate
			if raw, crc, size, err = deflate(p); err != nil {
				return err
			}
		}
		if p.DeclaredSize != 0 {
			size = p.DeclaredSize
		}
		fw, err := zw.CreateRaw(&zip.FileHeader{Name: p.Name, Method: method, CRC32: crc,
			CompressedSize64: uint64(len(raw)), UncompressedSize64: uint64(size)})
		if err != nil {
			return err
		}
		if _, err := fw.Write(raw); err != nil {
			return err
		}
	}
	return zw.Close()
}

// deflate returns the part deflated, the CRC-32 and the size of what it unpacks to.
// Deflate streams whose blocks end on a byte (a sync flush) and never refer back
// beyond their own start join into one: the filler's block is written once, and the
// stream holds it as many times as needed.
func deflate(p Part) (raw []byte, crc uint32, size int64, err error) {
	var out bytes.Buffer
	segment := func(text string, last bool) error {
		fw, _ := flate.NewWriter(&out, flate.BestCompression)
		if _, err := fw.Write([]byte(text)); err != nil {
			return err
		}
		crc = crc32.Update(crc, crc32.IEEETable, []byte(text))
		size += int64(len(text))
		if last {
			return fw.Close()
		}
		return fw.Flush()
	}
	if err := segment(p.Head, false); err != nil {
		return nil, 0, 0, err
	}
	if p.Repeat > 0 {
		per := max(1, (1<<20)/len(p.Filler)) // fillers a block
		block := []byte(strings.Repeat(p.Filler, per))
		var one bytes.Buffer
		fw, _ := flate.NewWriter(&one, flate.BestCompression)
		fw.Write(block)
		fw.Flush()
		for range p.Repeat / int64(per) {
			out.Write(one.Bytes())
			crc = crc32.Update(crc, crc32.IEEETable, block)
			size += int64(len(block))
		}
		if rest := p.Repeat % int64(per); rest > 0 {
			if err := segment(strings.Repeat(p.Filler, int(rest)), false); err != nil {
				return nil, 0, 0, err
			}
		}
	}
	if err := segment(p.Tail, true); err != nil {
		return nil, 0, 0, err
	}
	return out.Bytes(), crc, size, nil
}
