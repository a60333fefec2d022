package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// harness is one run of the benchmark: the built job, a temporary directory and the
// settings every scenario shares.
type harness struct {
	opts    options
	sizes   sizes
	dir     string
	bin     string // the built job
	version string // what the job's --version says
	key     string // the key every fake accepts
	// noSnapshot: the job has --no-snapshot (it reads the workspace before writing).
	noSnapshot bool
	seq        int // numbers the files of each job run
	plans      map[int]planFile
}

// sizes are the plan sizes of each scenario.
type sizes struct {
	overhead, curl, latency, rate, budget int
	memory                                []int
	memoryBars                            map[int]float64 // MiB, by plan size
}

var fullSizes = sizes{
	overhead: 20_000, curl: 2_000, latency: 1_000, rate: 500, budget: 2_000,
	memory:     []int{10_000, 200_000, 1_000_000},
	memoryBars: map[int]float64{200_000: 100, 1_000_000: 150},
}

var quickSizes = sizes{
	overhead: 300, curl: 50, latency: 80, rate: 30, budget: 20,
	memory:     []int{1_000, 2_000},
	memoryBars: map[int]float64{},
}

// results is what the harness measured.
type results struct {
	machine   string
	scenarios []*scenarioResult
}

// scenarioResult is one scenario's figures, or why it could not produce them.
type scenarioResult struct {
	name    string
	title   string
	figures []*figure
	notes   []string
	skipped string    // why the scenario did not run (a tool is missing)
	err     error     // a broken run: wrong report, exit code, summary
	reports int       // job reports read back and found complete
	rows    int       // report rows checked, over all those reports
	busy    []float64 // how busy the machine was before each measured run (0..1)
}

func (r *scenarioResult) add(name, unit string, b *bar) *figure {
	f := &figure{name: name, unit: unit, bar: b}
	r.figures = append(r.figures, f)
	return f
}

// figure is one measured quantity, with one value per run.
type figure struct {
	name   string
	unit   string
	values []float64
	bar    *bar // nil: shown for information
}

// bar is a figure's target (docs/performance.md): the median must be >= or <= limit.
type bar struct {
	op    string // ">=" or "<="
	limit float64
}

func atLeast(v float64) *bar { return &bar{">=", v} }
func atMost(v float64) *bar  { return &bar{"<=", v} }

func (f *figure) median() float64 {
	if len(f.values) == 0 {
		return math.NaN()
	}
	v := slices.Clone(f.values)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// pass reports whether the median meets the bar (true when there is no bar).
func (f *figure) pass() bool {
	if f.bar == nil {
		return true
	}
	m := f.median()
	if f.bar.op == ">=" {
		return m >= f.bar.limit
	}
	return m <= f.bar.limit
}

func (r *results) exitCode() int {
	code := 0
	for _, s := range r.scenarios {
		if s.err != nil {
			return 2
		}
		for _, f := range s.figures {
			if !f.pass() {
				code = 1
			}
		}
	}
	return code
}

// runHarness builds the job and runs the selected scenarios.
func runHarness(opts options) (*results, error) {
	if opts.log == nil {
		opts.log = io.Discard
	}
	h := &harness{opts: opts, sizes: fullSizes, plans: map[int]planFile{}}
	if opts.quick {
		h.sizes = quickSizes
	}
	dir, err := os.MkdirTemp("", "reassign-bench-*")
	if err != nil {
		return nil, err
	}
	h.dir = dir
	if opts.keep {
		fmt.Fprintf(opts.log, "bench: files kept in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := make([]byte, 16)
	rand.Read(b)
	h.key = "bench_" + hex.EncodeToString(b[:4]) + ":" + hex.EncodeToString(b[4:])
	if err := h.build(); err != nil {
		return nil, err
	}
	res := &results{machine: machine(h.version, opts)}
	fmt.Fprintf(opts.log, "bench: %s\n", res.machine)

	scenarios := map[string]func(*scenarioResult) error{
		"overhead": h.overhead,
		"curl":     h.curl,
		"latency":  h.latency,
		"rate":     h.rateHeld,
		"budget":   h.budget,
		"memory":   h.memory,
		"plans":    h.planForms,
	}
	for _, name := range scenarioNames {
		if len(opts.only) > 0 && !slices.Contains(opts.only, name) {
			continue
		}
		sr := &scenarioResult{name: name}
		start := time.Now()
		fmt.Fprintf(opts.log, "bench: scenario %s\n", name)
		sr.err = scenarios[name](sr)
		if sr.err != nil {
			fmt.Fprintf(opts.log, "bench: scenario %s is broken: %v\n", name, sr.err)
		}
		fmt.Fprintf(opts.log, "bench: scenario %s took %.1fs\n", name, time.Since(start).Seconds())
		res.scenarios = append(res.scenarios, sr)
	}
	return res, nil
}

// build compiles the job from the module root into the temporary directory.
func (h *harness) build() error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return errors.New("not inside the reassign module (go env GOMOD is empty): run from the repository")
	}
	h.bin = filepath.Join(h.dir, "reassign")
	start := time.Now()
	cmd := exec.Command(goBin, "build", "-o", h.bin, ".")
	cmd.Dir = filepath.Dir(gomod)
	// CGO_ENABLED=0 as `make build` ships it: a static binary.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	fmt.Fprintf(h.opts.log, "bench: built %s in %.1fs\n", h.bin, time.Since(start).Seconds())
	out, err = exec.Command(h.bin, "--version").Output()
	if err != nil {
		return fmt.Errorf("reassign --version: %w", err)
	}
	h.version = strings.TrimPrefix(strings.TrimSpace(string(out)), "reassign ")
	out, _ = exec.Command(h.bin, "--help").CombinedOutput()
	h.noSnapshot = strings.Contains(string(out), "--no-snapshot")
	return nil
}

// userAgent is the User-Agent the job sends; the bare loop and curl send the same.
func (h *harness) userAgent() string { return "reassign/" + h.version }

func machine(version string, opts options) string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	s := fmt.Sprintf("%d cores (GOMAXPROCS %d)", runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if model != "" {
		s += ", " + model
	}
	s += fmt.Sprintf(", %s %s/%s, job %s, median of %d run(s)", runtime.Version(), runtime.GOOS, runtime.GOARCH, version, opts.runs)
	if opts.quick {
		s += ", QUICK sizes (not a measurement)"
	}
	return s
}

// --- plans ---

// planFile is a generated plan: row i (0-based) is on line i+2 and reads
// phn_<i, 9 digits>,agt_<i mod 10>,Line <i>.
type planFile struct {
	path string
	rows int
}

func planID(i int) string { return fmt.Sprintf("phn_%09d", i) }

func planAgent(i int) string { return fmt.Sprintf("agt_%02d", i%10) }

func planNickname(i int) string { return "Line " + strconv.Itoa(i) }

// planIndex is the inverse of planID: -1 for an id the plans never hold.
func planIndex(id string) int {
	if len(id) != 13 || !strings.HasPrefix(id, "phn_") {
		return -1
	}
	n, err := strconv.Atoi(id[4:])
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// plan returns a plan of n rows, writing it once.
func (h *harness) plan(n int) (planFile, error) {
	if p, ok := h.plans[n]; ok {
		return p, nil
	}
	p, err := writePlan(h.dir, n)
	if err == nil {
		h.plans[n] = p
	}
	return p, err
}

func writePlan(dir string, n int) (planFile, error) {
	return writeCSVPlan(filepath.Join(dir, fmt.Sprintf("plan-%d.csv", n)), "id,agent_id,nickname", n, planID)
}

// writeCSVPlan writes a plan of n rows under header: each row's key (its id, or its
// phone number), the agent and the nickname of row i.
func writeCSVPlan(path, header string, n int, key func(i int) string) (planFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return planFile{}, err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	w.WriteString(header + "\n")
	for i := range n {
		w.WriteString(key(i))
		w.WriteByte(',')
		w.WriteString(planAgent(i))
		w.WriteByte(',')
		w.WriteString(planNickname(i))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return planFile{}, err
	}
	return planFile{path: path, rows: n}, f.Close()
}

// --- running the job ---

// jobRun is one run of the built job.
type jobRun struct {
	wall    time.Duration // whole process: start, plan validation, run, report close
	cpu     time.Duration // user + system
	maxRSS  int64         // KiB
	summary summary
}

// rowsPerSecond is the plan's rows over the whole process's wall time.
func (j jobRun) rowsPerSecond(rows int) float64 { return float64(rows) / j.wall.Seconds() }

// summary is the job's final "summary" log event.
type summary struct {
	Event     string         `json:"event"`
	Rows      int            `json:"rows"`
	RowsPerS  float64        `json:"rows_per_s"`
	ElapsedMS int64          `json:"elapsed_ms"`
	Counts    map[string]int `json:"counts"`
	ExitCode  int            `json:"exit_code"`
}

// runJob runs the built job over plan against baseURL with the given extra flags, then
// checks what it did: exit 0, a summary event counting every row updated, and a report
// with one updated row per plan row.
func (h *harness) runJob(sr *scenarioResult, plan planFile, baseURL string, flags ...string) (jobRun, error) {
	h.seq++
	jr, err := h.runShard(h.seq, plan, baseURL, shard{}, flags...)
	if err == nil {
		sr.reports++
		sr.rows += plan.rows
	}
	return jr, err
}

// shard is the part of a plan one run handles: --shards n --shard-index i; n = 0 is the
// whole plan.
type shard struct{ n, i int }

// has reports whether plan row i is the shard's: the FNV-1a 32 hash of its id modulo n
// (docs/resume-and-shards.md), computed here rather than by the job's
// code, which the harness checks.
func (s shard) has(i int) bool {
	if s.n <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(planID(i)))
	return int(h.Sum32()%uint32(s.n)) == s.i
}

// rows is how many of a plan's rows are the shard's.
func (s shard) rows(plan planFile) int {
	n := 0
	for i := range plan.rows {
		if s.has(i) {
			n++
		}
	}
	return n
}

// runShard is one run of the job over its shard of plan (its files numbered seq, so that
// runs side by side do not share them), checked as runJob checks a whole run.
func (h *harness) runShard(seq int, plan planFile, baseURL string, sh shard, flags ...string) (jobRun, error) {
	reportPath := filepath.Join(h.dir, fmt.Sprintf("report-%d.csv", seq))
	logPath := filepath.Join(h.dir, fmt.Sprintf("log-%d.jsonl", seq))
	logFile, err := os.Create(logPath)
	if err != nil {
		return jobRun{}, err
	}
	defer logFile.Close()
	args := append([]string{
		"--plan", plan.path, "--report", reportPath, "--base-url", baseURL, "--log-format", "json",
	}, flags...)
	if sh.n > 0 {
		args = append(args, "--shards", strconv.Itoa(sh.n), "--shard-index", strconv.Itoa(sh.i))
	}
	timeout := 10*time.Minute + time.Duration(plan.rows)*2*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = h.env()
	cmd.Stdout = io.Discard
	cmd.Stderr = logFile // a file, as a log collector would take it; no pipe to drain
	start := time.Now()
	var peak int64
	if err = cmd.Start(); err == nil {
		done := make(chan struct{})
		polled := make(chan int64)
		go func() { polled <- pollPeakRSS(cmd.Process.Pid, done) }()
		err = cmd.Wait()
		close(done)
		peak = <-polled
	}
	wall := time.Since(start)
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return jobRun{}, fmt.Errorf("run the job: %w", err)
		}
	}
	jr := jobRun{wall: wall}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		jr.maxRSS = ru.Maxrss // KiB on Linux
		jr.cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
	}
	if peak > 0 {
		// wait4's ru_maxrss also counts the harness's own memory, shared with the child
		// between fork and exec (Go starts children with CLONE_VM): a 1M-row run read
		// 117 MiB one time and 406 MiB the next. The job's own peak is VmHWM after exec.
		jr.maxRSS = peak
	}
	tail := lastLines(logPath, 4)
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		return jr, fmt.Errorf("job %s exited %d, want 0; log ends:\n%s", strings.Join(args[8:], " "), code, tail)
	}
	jr.summary, err = readSummary(logPath)
	if err != nil {
		return jr, fmt.Errorf("%w; log ends:\n%s", err, tail)
	}
	rows := sh.rows(plan)
	if got := jr.summary.Counts["updated"]; got != rows || jr.summary.Rows != rows {
		return jr, fmt.Errorf("job summary counts %d rows, %v; want %d updated", jr.summary.Rows, jr.summary.Counts, rows)
	}
	if err := checkReport(reportPath, plan.rows, sh.has, "updated"); err != nil {
		return jr, fmt.Errorf("report %s: %w", reportPath, err)
	}
	if !h.opts.keep {
		os.Remove(reportPath)
		os.Remove(logPath)
	}
	return jr, nil
}

// runPods runs pods jobs at once, each over its shard of plan (--shards pods), all
// against baseURL, and checks each as runJob does.
func (h *harness) runPods(sr *scenarioResult, plan planFile, baseURL string, pods int, flags ...string) ([]jobRun, error) {
	runs := make([]jobRun, pods)
	errs := make([]error, pods)
	var wg sync.WaitGroup
	for i := range pods {
		h.seq++
		seq := h.seq
		wg.Go(func() { runs[i], errs[i] = h.runShard(seq, plan, baseURL, shard{pods, i}, flags...) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return runs, err
	}
	sr.reports += pods
	sr.rows += plan.rows
	return runs, nil
}

// env is the job's environment: ours without any REASSIGN_ or DIALNEXA_ setting, and the
// fake's key.
func (h *harness) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "REASSIGN_") || strings.HasPrefix(kv, "DIALNEXA_") || strings.HasPrefix(kv, "JOB_COMPLETION_INDEX=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "DIALNEXA_API_KEY="+h.key)
}

// readSummary finds the last "summary" event at the end of the job's JSON log.
func readSummary(path string) (summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return summary{}, err
	}
	defer f.Close()
	const tail = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > tail {
		f.Seek(st.Size()-tail, io.SeekStart)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return summary{}, err
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if !bytes.Contains(lines[i], []byte(`"summary"`)) {
			continue
		}
		var s summary
		if json.Unmarshal(lines[i], &s) == nil && s.Event == "summary" {
			return s, nil
		}
	}
	return summary{}, errors.New(`no "event":"summary" line at the end of the job's log`)
}

func lastLines(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// checkReport reads a job report back: one row per plan row that want accepts (by line,
// with the plan's id), each with outcome outcome, and no other row.
func checkReport(path string, rows int, want func(i int) bool, outcome string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[name] = i
	}
	for _, name := range []string{"line", "id", "outcome"} {
		if _, ok := col[name]; !ok {
			return fmt.Errorf("no %s column in %v", name, header)
		}
	}
	seen := make([]bool, rows)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		line, err := strconv.Atoi(rec[col["line"]])
		i := line - 2
		switch {
		case err != nil || i < 0 || i >= rows:
			return fmt.Errorf("row for plan line %q: the plan has lines 2..%d", rec[col["line"]], rows+1)
		case seen[i]:
			return fmt.Errorf("line %d reported twice", line)
		case !want(i):
			return fmt.Errorf("line %d reported: not this run's row", line)
		case rec[col["id"]] != planID(i):
			return fmt.Errorf("line %d: id %q, want %q", line, rec[col["id"]], planID(i))
		case rec[col["outcome"]] != outcome:
			return fmt.Errorf("line %d: outcome %q, want %q", line, rec[col["outcome"]], outcome)
		}
		seen[i] = true
	}
	for i := range rows {
		if want(i) && !seen[i] {
			return fmt.Errorf("line %d not reported", i+2)
		}
	}
	return nil
}

// --- output ---

func printTable(w io.Writer, res *results) {
	fmt.Fprintf(w, "Machine: %s\n\n", res.machine)
	fmt.Fprintln(w, "| scenario | figure | median | runs | bar | result |")
	fmt.Fprintln(w, "|---|---|---:|---|---|---|")
	for _, s := range res.scenarios {
		switch {
		case s.skipped != "":
			fmt.Fprintf(w, "| %s | skipped: %s | | | | SKIP |\n", s.name, s.skipped)
			continue
		case s.err != nil:
			msg := strings.ReplaceAll(strings.ReplaceAll(s.err.Error(), "\n", " "), "|", "/")
			fmt.Fprintf(w, "| %s | BROKEN RUN: %s | | | | ERROR |\n", s.name, msg)
		}
		for _, f := range s.figures {
			vals := make([]string, len(f.values))
			for i, v := range f.values {
				vals[i] = format(v)
			}
			barText, result := "", ""
			if f.bar != nil {
				barText = fmt.Sprintf("%s %s", map[string]string{">=": "≥", "<=": "≤"}[f.bar.op], format(f.bar.limit))
				result = "PASS"
				if !f.pass() {
					result = "**FAIL**"
				}
			}
			fmt.Fprintf(w, "| %s | %s | %s %s | %s | %s | %s |\n", s.name, f.name, format(f.median()), f.unit, strings.Join(vals, ", "), barText, result)
		}
	}
	var notes []string
	for _, s := range res.scenarios {
		if b := s.busyNote(); b != "" {
			notes = append(notes, s.name+": "+b)
		}
		for _, n := range s.notes {
			notes = append(notes, s.name+": "+n)
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}

func format(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "n/a"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// pollPeakRSS reads the process's VmHWM (its peak resident set since exec, in KiB) from
// /proc every 20 ms until done is closed, and returns the last value read (0 if /proc
// could not be read).
func pollPeakRSS(pid int, done <-chan struct{}) int64 {
	var peak int64
	path := fmt.Sprintf("/proc/%d/status", pid)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					var kib int64
					fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kib)
					peak = max(peak, kib)
				}
			}
		}
		select {
		case <-done:
			return peak
		case <-tick.C:
		}
	}
}
