package main

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/dustin/go-humanize"
	"github.com/xuri/excelize/v2"
)

// The plan forms of docs/plan.md, against their memory targets: a workbook (written
// with excelize, as a spreadsheet program would), and a plan keyed by phone number,
// resolved through a snapshot of the whole workspace.
var (
	planFormSizes = struct{ xlsx, phone int }{100_000, 200_000}
	planFormQuick = struct{ xlsx, phone int }{500, 1_000}
)

// planForms measures peak RSS of a live run of a 100,000-row .xlsx plan, and of a
// 200,000-row CSV plan keyed by phone number against a workspace of 200,000 numbers.
func (h *harness) planForms(sr *scenarioResult) error {
	sizes := planFormSizes
	if h.opts.quick {
		sizes = planFormQuick
	}
	xlsx, err := writeWorkbookPlan(h.dir, sizes.xlsx)
	if err != nil {
		return err
	}
	phone, err := writePhonePlan(h.dir, sizes.phone)
	if err != nil {
		return err
	}
	cases := []struct {
		plan planFile
		rss  *figure
		rate *figure
	}{
		{xlsx, sr.add(fmt.Sprintf("peak RSS, %s-row .xlsx plan", humanize.Comma(int64(sizes.xlsx))), "MiB", atMost(256)),
			sr.add(fmt.Sprintf("rows/s, wall time, %s-row .xlsx plan", humanize.Comma(int64(sizes.xlsx))), "rows/s", nil)},
		{phone, sr.add(fmt.Sprintf("peak RSS, %s-row CSV plan keyed by phone number, %s-number workspace", humanize.Comma(int64(sizes.phone)), humanize.Comma(int64(sizes.phone))), "MiB", atMost(128)),
			sr.add(fmt.Sprintf("rows/s, wall time, %s-row plan keyed by phone number", humanize.Comma(int64(sizes.phone))), "rows/s", nil)},
	}
	if h.opts.quick {
		for _, c := range cases {
			c.rss.bar = nil // tiny sizes measure nothing
		}
	}
	for _, c := range cases {
		for i := range h.opts.runs {
			h.settle(sr)
			api := newFastAPI(h.key, c.plan.rows)
			var jr jobRun
			if err := serve(api, func(url string) (err error) {
				jr, err = h.runJob(sr, c.plan, url, "--rate", "0", "--workers", "8")
				return err
			}); err != nil {
				return err
			}
			mib := float64(jr.maxRSS) / 1024
			c.rss.values = append(c.rss.values, mib)
			c.rate.values = append(c.rate.values, jr.rowsPerSecond(c.plan.rows))
			h.logf("%s, run %d: peak RSS %.1f MiB, %.0f rows/s (wall %.1fs)", filepath.Base(c.plan.path), i+1, mib, jr.rowsPerSecond(c.plan.rows), jr.wall.Seconds())
		}
	}
	sr.notes = append(sr.notes,
		"the .xlsx plan is written by excelize with shared strings, as Excel saves text: id, agent_id, nickname and the phone number as a number cell; the job reads it with cells as stored, its shared strings once and its sheet streamed twice (validate, send)",
		"the plan keyed by phone number spells each number +1 555 NNNNNNN; the job reads all 200,000 numbers of the workspace, keeps those the plan may hold and finds them by phone number; peak RSS as in memory")
	return nil
}

// writeWorkbookPlan writes the rows of the CSV plans (ids of the fast fake) as the
// first sheet of a workbook, with the phone number beside them as a number.
func writeWorkbookPlan(dir string, n int) (planFile, error) {
	path := filepath.Join(dir, fmt.Sprintf("plan-%d.xlsx", n))
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	if err := f.SetSheetRow(sheet, "A1", &[]any{"Phone Number", "ID", "Agent ID", "Nickname"}); err != nil {
		return planFile{}, err
	}
	for i := range n {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		row := []any{15551_000_000 + i, planID(i), planAgent(i), planNickname(i)}
		if err := f.SetSheetRow(sheet, cell, &row); err != nil {
			return planFile{}, err
		}
	}
	return planFile{path: path, rows: n}, f.SaveAs(path)
}

// writePhonePlan writes a plan keyed by phone number for the fast fake's numbers
// (+1555 and 1,000,000 + i), spelt as people write them.
func writePhonePlan(dir string, n int) (planFile, error) {
	path := filepath.Join(dir, fmt.Sprintf("plan-phone-%d.csv", n))
	return writeCSVPlan(path, "Phone Number,Agent ID,Nickname", n, func(i int) string {
		return "+1 555 " + strconv.Itoa(1_000_000+i)
	})
}
