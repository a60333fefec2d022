"""Writes hostile workbooks: each a file of under 1 MB that unpacks to hundreds of MB.

    python3 job/planfile/testdata/xlsx/hostile.py DIR

  cell.xlsx         one inline-string cell of 300 MB
  blanks.xlsx       900 MB of blanks between the sheet's two rows
  shared.xlsx       a shared string of 300 MB that no cell refers to
  shared-used.xlsx  the same, referred to by a cell of the plan
  blanks-within.xlsx, shared-within.xlsx
                    300 MB of blanks, a shared string of 200 MB: parts within the
                    bounds on a part's size, refused for their one huge piece of text
  slow.xlsx         a plan of one row, its sheet then holding 400 MB of small empty
                    elements: a slow but harmless read, for a signal to end

The job must refuse all but the last (exit 65, naming the part and its size) within its
memory bounds; the plan reader's tests build the same workbooks in Go. Each is a minimal
workbook written by hand: five small XML parts, one of them huge and repetitive.
"""
import sys
import zipfile

MB = 1000 * 1000
CHUNK = 1 << 20

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""

RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""

WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Plan" sheetId="1" r:id="rId1"/></sheets></workbook>"""

WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""

SHEET_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
SHEET_TAIL = "</sheetData></worksheet>"
HEADER_ROW = '<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr"><is><t>agent_id</t></is></c></row>'
SST_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>phn_k3p8vd2nq7ra</t></si><si><t>agt_sales_emea</t></si><si><t>'
SST_TAIL = "</t></si></sst>"


def repeat(text, total):
    """Yields text repeated to total bytes, a chunk at a time."""
    chunk = (text * (CHUNK // len(text) + 1))[:CHUNK // len(text) * len(text)]
    left = total
    while left > 0:
        part = chunk[:left]
        yield part
        left -= len(part)


def write(path, parts):
    """Writes a workbook of parts: name -> a list of strings and generators of strings."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, pieces in parts.items():
            with zf.open(name, "w") as f:
                for piece in pieces:
                    if isinstance(piece, str):
                        f.write(piece.encode())
                    else:
                        for chunk in piece:
                            f.write(chunk.encode())


def book(sheet, sst=None):
    parts = {
        "[Content_Types].xml": [CONTENT_TYPES],
        "_rels/.rels": [RELS],
        "xl/workbook.xml": [WORKBOOK],
        "xl/_rels/workbook.xml.rels": [WORKBOOK_RELS],
        "xl/worksheets/sheet1.xml": sheet,
    }
    if sst is not None:
        parts["xl/sharedStrings.xml"] = sst
    return parts


def main(out):
    write(f"{out}/cell.xlsx", book([
        SHEET_HEAD, HEADER_ROW,
        '<row r="2"><c r="A2" t="inlineStr"><is><t>phn_k3p8vd2nq7ra</t></is></c><c r="B2" t="inlineStr"><is><t>',
        repeat("a", 300 * MB), "</t></is></c></row>", SHEET_TAIL]))
    write(f"{out}/blanks.xlsx", book([
        SHEET_HEAD, HEADER_ROW, repeat(" ", 900 * MB),
        '<row r="2"><c r="A2" t="inlineStr"><is><t>phn_k3p8vd2nq7ra</t></is></c><c r="B2" t="inlineStr"><is><t>agt_sales_emea</t></is></c></row>',
        SHEET_TAIL]))
    write(f"{out}/blanks-within.xlsx", book([
        SHEET_HEAD, HEADER_ROW, repeat(" ", 300 * MB),
        '<row r="2"><c r="A2" t="inlineStr"><is><t>phn_k3p8vd2nq7ra</t></is></c><c r="B2" t="inlineStr"><is><t>agt_sales_emea</t></is></c></row>',
        SHEET_TAIL]))
    for name, ref, size in (("shared", 1, 300), ("shared-used", 2, 300), ("shared-within", 2, 200)):
        write(f"{out}/{name}.xlsx", book([
            SHEET_HEAD, HEADER_ROW,
            f'<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>{ref}</v></c></row>', SHEET_TAIL],
            [SST_HEAD, repeat("a", size * MB), SST_TAIL]))
    write(f"{out}/slow.xlsx", book([
        SHEET_HEAD, HEADER_ROW,
        '<row r="2"><c r="A2" t="inlineStr"><is><t>phn_k3p8vd2nq7ra</t></is></c><c r="B2" t="inlineStr"><is><t>agt_sales_emea</t></is></c></row>',
        "</sheetData><extLst>", repeat("<x/>", 400 * MB), "</extLst></worksheet>"]))


if __name__ == "__main__":
    main(sys.argv[1])
