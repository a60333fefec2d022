#!/bin/sh
# Regenerates the workbooks the plan reader's tests read, and samples/plan.xlsx, with
# real spreadsheet programs: openpyxl writes them (fixtures.py), LibreOffice Calc opens
# one, computes its formulas and saves it again (libreoffice.xlsx) and as an old .xls.
# The results are committed: the tests need neither program.
#
# (A password-protected .xlsx is not among them: LibreOffice 7.4 fails to save one
# headless, and Debian's msoffcrypto-tool 5.0.0 only decrypts. The plan reader's check
# for one is a unit test of the markers it looks for.)
#
#   apt-get install python3-openpyxl libreoffice-calc-nogui
#   job/planfile/testdata/xlsx/regenerate.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 "$here/fixtures.py" "$tmp" "$root/samples"
cp "$tmp/openpyxl.xlsx" "$here/openpyxl.xlsx"

# LibreOffice needs a profile it can write; it names its output after its input.
profile="-env:UserInstallation=file://$tmp/profile"
soffice "$profile" --headless --calc --convert-to xlsx --outdir "$tmp/lo" "$tmp/source.xlsx" >/dev/null
cp "$tmp/lo/source.xlsx" "$here/libreoffice.xlsx"
soffice "$profile" --headless --calc --convert-to xls --outdir "$tmp/lo" "$tmp/source.xlsx" >/dev/null
cp "$tmp/lo/source.xls" "$here/old.xls"

ls -l "$here"/*.xlsx "$here"/*.xls "$root/samples/plan.xlsx"
