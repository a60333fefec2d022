package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"reassign/job/planfile/xlsxtest"
)

// hostileSheet is a workbook whose sheet is head, filler repeated, and tail: a few
// hundred kilobytes on disk, hundreds of megabytes unpacked.
func hostileSheet(t *testing.T, dir, name, head, filler string, repeat int64, tail string) string {
	t.Helper()
	parts := xlsxtest.Book([]xlsxtest.Sheet{{Name: "Plan"}}, nil)
	parts = xlsxtest.Replace(parts, xlsxtest.Part{Name: "xl/worksheets/sheet1.xml",
		Head:   `<worksheet ` + xlsxtest.Main + `><sheetData>` + xlsxtest.Row(1, "id", "agent_id") + head,
		Filler: filler, Repeat: repeat, Tail: tail + `</worksheet>`})
	path := filepath.Join(dir, name)
	if err := xlsxtest.WriteFile(path, parts); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHostileWorkbooks: workbooks of under 1 MB that unpack to hundreds of megabytes
// are refused (65), naming the part and its size, within the job's memory: the
// program's peak RSS, as the kernel counts it, stays under 256 MiB.
func TestHostileWorkbooks(t *testing.T) {
	dir := t.TempDir()
	shared := xlsxtest.Replace(xlsxtest.Book([]xlsxtest.Sheet{{Name: "Plan", Data: xlsxtest.Row(1, "id", "agent_id") +
		`<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c></row>`}}, []string{}),
		xlsxtest.Part{Name: "xl/sharedStrings.xml", Head: `<sst ` + xlsxtest.Main + `><si><t>phn_k3p8vd2nq7ra</t></si><si><t>agt_sales_emea</t></si><si><t>`,
			Filler: "a", Repeat: 300e6, Tail: `</t></si></sst>`})
	if err := xlsxtest.WriteFile(filepath.Join(dir, "shared.xlsx"), shared); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ plan, says string }{
		{hostileSheet(t, dir, "cell.xlsx", `<row r="2"><c r="A2" t="inlineStr"><is><t>phn_k3p8vd2nq7ra</t></is></c><c r="B2" t="inlineStr"><is><t>`, "a", 300e6, `</t></is></c></row></sheetData>`),
			`part xl/worksheets/sheet1.xml (its sheet \"Plan\", 286 MiB unpacked) holds more than 1.0 MiB in one piece`},
		{hostileSheet(t, dir, "blanks.xlsx", "", " ", 900e6, xlsxtest.Row(2, "phn_k3p8vd2nq7ra", "agt_sales_emea")+`</sheetData>`),
			`part xl/worksheets/sheet1.xml (its sheet \"Plan\") unpacks to 858 MiB`},
		{hostileSheet(t, dir, "blanks-within.xlsx", "", " ", 300e6, xlsxtest.Row(2, "phn_k3p8vd2nq7ra", "agt_sales_emea")+`</sheetData>`),
			`part xl/worksheets/sheet1.xml (its sheet \"Plan\", 286 MiB unpacked) holds more than 1.0 MiB in one piece`},
		{filepath.Join(dir, "shared.xlsx"), `part xl/sharedStrings.xml (its shared strings) unpacks to 286 MiB`},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.plan), func(t *testing.T) {
			if st, err := os.Stat(c.plan); err != nil || st.Size() > 1<<20 {
				t.Fatalf("the workbook should be under 1 MiB: %v %v", st.Size(), err)
			}
			cmd := exec.Command(binPath, "--sandbox", "--plan", c.plan, "--report", "r.csv", "--log-format", "json")
			cmd.Dir = t.TempDir()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitPlan || !strings.Contains(stderr.String(), c.says) {
				t.Fatalf("exit %v, want 65 saying %s\n%s", err, c.says, tail(stderr.String()))
			}
			if rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss; rss > 256<<10 {
				t.Errorf("peak RSS %d MiB, want at most 256", rss>>10)
			}
			if _, err := os.Stat(filepath.Join(cmd.Dir, "r.csv")); err == nil {
				t.Error("a report was written")
			}
		})
	}
}

// TestSIGTERMDuringWorkbookRead: SIGTERM while a slow workbook is read (400 MB of
// small elements after its rows, which the reader must read to the end) ends the job
// soon, with 75 and no report.
func TestSIGTERMDuringWorkbookRead(t *testing.T) {
	dir := t.TempDir()
	plan := hostileSheet(t, dir, "slow.xlsx", xlsxtest.Row(2, "phn_k3p8vd2nq7ra", "agt_sales_emea")+`</sheetData><extLst>`, "<x/>", 100e6, `</extLst>`)
	cmd := exec.Command(binPath, "--sandbox", "--plan", plan, "--report", "r.csv", "--log-format", "json")
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	// Signal once the job has started (its log says so, just before it reads the plan)
	// and has spent half a second of CPU since: it is reading the workbook.
	var log strings.Builder
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), `"event":"start"`) {
			break
		}
	}
	started := cpuTicks(t, cmd.Process.Pid)
	for deadline := time.Now().Add(time.Minute); cpuTicks(t, cmd.Process.Pid) < started+50; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the job never got to reading the workbook")
		}
	}
	signalled := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	for lines.Scan() {
		log.WriteString(lines.Text() + "\n")
	}
	cmd.Wait()
	took := time.Since(signalled)
	if code := cmd.ProcessState.ExitCode(); code != exitTemp {
		t.Fatalf("exit %d, want 75\n%s", code, log.String())
	}
	// Loosely: the read alone takes far longer than this on any machine.
	if took > 10*time.Second {
		t.Errorf("the job ended %v after SIGTERM", took)
	} else if strings.Contains(log.String(), `"event":"plan"`) {
		t.Fatalf("the plan was read before the signal: nothing tested\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "r.csv")); err == nil {
		t.Error("a report was written")
	}
}

// TestWorkbookSheetLogged: the plan's log event names the sheet read.
func TestWorkbookSheetLogged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	res := runBinary(t, dir, nil, "--sandbox", "--dry-run", "--plan", abs(t, "samples/plan.xlsx"), "--report", "r.csv", "--log-format", "json")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, tail(res.stderr))
	}
	if ev := findEvent(logEvents(t, res.stderr), "plan"); ev == nil || ev["sheet"] != "Numbers" {
		t.Errorf("plan event %v, want sheet Numbers", ev)
	}
}

// cpuTicks is the CPU time process pid has spent, in clock ticks (1/100 s), as
// /proc/PID/stat counts it.
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return utime + stime
}
