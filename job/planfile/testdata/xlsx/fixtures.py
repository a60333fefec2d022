"""Writes the workbooks the plan reader's tests read, with openpyxl (run by regenerate.sh,
which then has LibreOffice and msoffcrypto-tool make the others from them)."""
import sys

from openpyxl import Workbook

out = sys.argv[1]
samples = sys.argv[2]

# openpyxl.xlsx: the team's own headers, phone numbers typed as numbers and shown in
# scientific notation, a blank row, a second sheet the job does not read.
wb = Workbook()
ws = wb.active
ws.title = "Plan"
ws.append(["Phone Number", "Agent Name", "Nickname", "Label"])
ws.append([442071838750, "Sales EMEA", "London Sales", ""])
ws.append([])
ws.append(["+1 (415) 555-0123", "billing", "SF  Billing", "West"])
ws.append([912234567890, "null", None, None])
for row in (2, 5):
    ws.cell(row=row, column=1).number_format = "0.00E+00"
ws.append(["+61 2 9000 1234", "Support", "Sydney", None])
notes = wb.create_sheet("Notes")
notes.append(["not", "a", "plan"])
wb.save(f"{out}/openpyxl.xlsx")

# source.xlsx, for LibreOffice to open, compute and save again: formulas (saved with
# their values), a number shown as 4.48E+11, and a second sheet with German headers.
wb = Workbook()
ws = wb.active
ws.title = "Plan"
ws.append(["Number ID", "Agent-ID", "nick.name", "LABEL"])
ws.append(["phn_k3p8vd2nq7ra", "agt_sales_emea", '="London "&"Sales"', "=UPPER(\"emea\")"])
ws.append(["phn_m9x4tb6wz2ce", "agt_billing", "SF", None])
de = wb.create_sheet("Rufnummern")
de.append(["Rufnummer", "Ziel-Agent", "Anzeigename"])
de.append([4930123456, "Billing", "Berlin Buchhaltung"])
de.cell(row=2, column=1).number_format = "0.00E+00"
de.append(["0049 30 123456", "Billing", "Berlin, doppelt"])
wb.save(f"{out}/source.xlsx")

# The sample: a team lead's sheet of numbers, in Excel.
wb = Workbook()
ws = wb.active
ws.title = "Numbers"
ws.append(["Phone", "Agent", "Nickname", "Label"])
for phone, agent, nick, label in [
    (912234567890, "Billing", "Mumbai Billing", "Billing - India"),
    ("+44 20 7183 8750", "Sales EMEA", "London Sales", None),
    (14155550123, "sales emea", "SF Sales", None),
    ("+61 2 9000 1234", "agt_support_tier2", None, None),
    (81312345678, "東京 受付", "東京 受付", None),
]:
    ws.append([phone, agent, nick, label])
for row in range(2, ws.max_row + 1):
    if isinstance(ws.cell(row=row, column=1).value, int):
        ws.cell(row=row, column=1).number_format = "0.00E+00"
ws.column_dimensions["A"].width = 18
wb.save(f"{samples}/plan.xlsx")
