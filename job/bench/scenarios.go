package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"

	"reassign/job/sandbox"
)

// serve starts h on a loopback port for the length of fn.
func serve(h http.Handler, fn func(baseURL string) error) error {
	url, stop, err := sandbox.Start(h)
	if err != nil {
		return err
	}
	defer stop()
	return fn(url)
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.opts.log, "  "+format+"\n", args...)
}

// --- 1. overhead ---

// overhead: the job at --rate 0 --workers 8 against the fast fake, against a bare Go loop
// sending the same requests with 8 goroutines to the same handler. By default the job
// reads the workspace before it writes (docs/migrations.md): the bare loop of the overhead target sends those reads
// too, then the PATCHes. A second bare loop sends only the PATCHes, the floor of the
// issue that came before those reads, compared with the job both as it runs by default and with
// --no-snapshot (which sends only the PATCHes). A run is overheadRounds rounds of each
// side, in an order that alternates from one round to the next; its figures are totals
// over its rounds, and the table shows the median of the runs'.
func (h *harness) overhead(sr *scenarioResult) error {
	n := h.sizes.overhead
	plan, err := h.plan(n)
	if err != nil {
		return err
	}
	pages := (n + 99) / 100
	flags := []string{"--rate", "0", "--workers", "8"}
	var ratioWall, ratioSum, ratioPatches, noSnap, noSnapCPU *figure
	if h.noSnapshot {
		ratioWall = sr.add("job ÷ bare Go loop sending the same requests (the workspace reads, then the PATCHes), rows/s by wall time", "", atLeast(0.8))
		ratioSum = sr.add("the same, the job's rows/s by its summary (the run after the reads)", "", nil)
		ratioPatches = sr.add("job ÷ bare Go loop sending only the PATCHes, rows/s by wall time (the job reads the workspace first, the loop does not)", "", nil)
		noSnap = sr.add("job --no-snapshot ÷ bare Go loop sending only the PATCHes, rows/s by wall time (both send the same requests)", "", atLeast(0.8))
	} else {
		ratioWall = sr.add("job ÷ bare Go loop sending the same PATCHes, rows/s by wall time", "", atLeast(0.8))
		ratioSum = sr.add("the same, the job's rows/s by its summary", "", nil)
	}
	jobWall := sr.add(fmt.Sprintf("job rows/s, wall time (%d rows)", n), "rows/s", nil)
	bareWall := sr.add("bare Go loop rows/s, wall time (child process), the same requests", "rows/s", nil)
	jobCPU := sr.add("job CPU per row (user+sys)", "µs", nil)
	bareCPU := sr.add("bare Go loop CPU per row (user+sys), the same requests", "µs", nil)
	cpuRatio := sr.add("job CPU ÷ bare Go loop CPU, the same requests (less sensitive to other processes)", "", nil)
	if h.noSnapshot {
		noSnapCPU = sr.add("job --no-snapshot CPU per row (user+sys)", "µs", nil)
	}

	// Warm-up, not counted: page cache, binary, loopback.
	warm, err := h.plan(min(n, 1000))
	if err != nil {
		return err
	}
	if err := serve(newFastAPI(h.key, warm.rows), func(url string) error {
		if _, err := h.runJob(sr, warm, url, flags...); err != nil {
			return err
		}
		_, err := h.runBare(warm, url, 8, 0)
		return err
	}); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}

	// One run is overheadRounds rounds of every side, in alternating order, and its
	// figures are totals over them: the machine's drift from second to second then
	// weighs on both sides alike.
	for i := range h.opts.runs {
		var job, noSnapJob, bare, barePatches runTotals
		var reads int64
		runJob := func() error {
			api := newFastAPI(h.key, n)
			return serve(api, func(url string) error {
				jr, err := h.runJob(sr, plan, url, flags...)
				if err == nil && api.patches.Load() != int64(n) {
					err = fmt.Errorf("the fake answered %d PATCHes 200 for %d rows", api.patches.Load(), n)
				}
				reads = api.reads.Load()
				job.addJob(jr, n)
				return err
			})
		}
		runBare := func(out *runTotals, pages int) func() error {
			return func() error {
				api := newFastAPI(h.key, n)
				return serve(api, func(url string) error {
					br, err := h.runBare(plan, url, 8, pages)
					if err == nil && (br.res.OK != n || api.patches.Load() != int64(n)) {
						err = fmt.Errorf("bare loop: %d of %d answered 200 (fake counted %d)", br.res.OK, n, api.patches.Load())
					}
					if err == nil && pages > 0 && br.res.Reads != int(api.reads.Load()) {
						err = fmt.Errorf("bare loop: %d of %d reads answered 200", br.res.Reads, api.reads.Load())
					}
					out.wall += br.wall
					out.cpu += br.cpu
					out.reads = int64(br.res.Reads)
					return err
				})
			}
		}
		runNoSnap := func() error {
			api := newFastAPI(h.key, n)
			return serve(api, func(url string) error {
				jr, err := h.runJob(sr, plan, url, append(flags, "--no-snapshot")...)
				if err == nil && api.reads.Load() != 0 {
					err = fmt.Errorf("--no-snapshot: the job still read the workspace (%d GETs)", api.reads.Load())
				}
				noSnapJob.addJob(jr, n)
				return err
			})
		}
		h.settle(sr)
		for round := range overheadRounds {
			steps := []func() error{runJob, runBare(&bare, 0)}
			if h.noSnapshot {
				steps = []func() error{runJob, runBare(&bare, pages), runNoSnap, runBare(&barePatches, 0)}
			}
			if (i*overheadRounds+round)%2 == 1 {
				slices.Reverse(steps)
			}
			for _, step := range steps {
				if err := step(); err != nil {
					return err
				}
			}
		}
		if h.noSnapshot && bare.reads != reads {
			return fmt.Errorf("the bare loop read %d pages, the job %d", bare.reads, reads)
		}
		rows := float64(n * overheadRounds)
		ratioWall.values = append(ratioWall.values, bare.wall.Seconds()/job.wall.Seconds())
		ratioSum.values = append(ratioSum.values, bare.wall.Seconds()/job.run.Seconds())
		jobWall.values = append(jobWall.values, rows/job.wall.Seconds())
		bareWall.values = append(bareWall.values, rows/bare.wall.Seconds())
		jobCPU.values = append(jobCPU.values, float64(job.cpu.Microseconds())/rows)
		bareCPU.values = append(bareCPU.values, float64(bare.cpu.Microseconds())/rows)
		cpuRatio.values = append(cpuRatio.values, job.cpu.Seconds()/bare.cpu.Seconds())
		line := fmt.Sprintf("run %d (%d rounds): job %.0f rows/s (%d workspace reads a round), bare loop %.0f rows/s: ratio %.2f",
			i+1, overheadRounds, rows/job.wall.Seconds(), reads, rows/bare.wall.Seconds(), bare.wall.Seconds()/job.wall.Seconds())
		if h.noSnapshot {
			ratioPatches.values = append(ratioPatches.values, barePatches.wall.Seconds()/job.wall.Seconds())
			noSnap.values = append(noSnap.values, barePatches.wall.Seconds()/noSnapJob.wall.Seconds())
			noSnapCPU.values = append(noSnapCPU.values, float64(noSnapJob.cpu.Microseconds())/rows)
			line += fmt.Sprintf("; job --no-snapshot %.0f rows/s, bare loop of PATCHes only %.0f rows/s: ratio %.2f",
				rows/noSnapJob.wall.Seconds(), rows/barePatches.wall.Seconds(), barePatches.wall.Seconds()/noSnapJob.wall.Seconds())
		}
		h.logf("%s", line)
	}
	if h.noSnapshot {
		sr.notes = append(sr.notes, fmt.Sprintf("by default the job reads the workspace before its %d PATCHes: the agent list and %d pages of numbers; the bare loop of the bar sends the same GETs and, as the job does, decodes every answer with encoding/json", n, pages))
	}
	sr.notes = append(sr.notes, "each bare loop runs in a child process (the harness's own binary) against the same fake handler, so both sides pay a process start and talk to the fake from outside its runtime")
	return nil
}

// overheadRounds is how many times each side runs in one overhead run.
const overheadRounds = 3

// runTotals adds up one side's rounds.
type runTotals struct {
	wall, cpu time.Duration
	run       time.Duration // the job's own elapsed time, from its summary
	reads     int64
}

func (t *runTotals) addJob(jr jobRun, n int) {
	t.wall += jr.wall
	t.cpu += jr.cpu
	if jr.summary.RowsPerS > 0 {
		t.run += time.Duration(float64(n) / jr.summary.RowsPerS * float64(time.Second))
	}
}

// bareRun is one run of the bare Go loop in a child process.
type bareRun struct {
	wall time.Duration
	cpu  time.Duration
	res  bareResult
}

func (h *harness) runBare(plan planFile, baseURL string, workers, pages int) (bareRun, error) {
	self, err := os.Executable()
	if err != nil {
		return bareRun{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+time.Duration(plan.rows)*time.Millisecond)
	defer cancel()
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(h.env(), bareEnv+"=1", bareURLEnv+"="+baseURL, barePlanEnv+"="+plan.path,
		bareUAEnv+"="+h.userAgent(), bareWorkersEnv+"="+strconv.Itoa(workers), barePagesEnv+"="+strconv.Itoa(pages))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	br := bareRun{wall: time.Since(start)}
	if err != nil {
		return br, fmt.Errorf("bare loop: %v: %s", err, stderr.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		br.cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
	}
	if err := json.Unmarshal(stdout.Bytes(), &br.res); err != nil {
		return br, fmt.Errorf("bare loop printed %q: %v", stdout.String(), err)
	}
	return br, nil
}

// --- 2. xargs curl ---

// curl: the same PATCHes sent by `xargs -P 8` starting one curl per row, against the
// job, both on the fast fake.
func (h *harness) curl(sr *scenarioResult) error {
	for _, tool := range []string{"curl", "xargs"} {
		if _, err := exec.LookPath(tool); err != nil {
			sr.skipped = tool + " is not installed"
			return nil
		}
	}
	n := h.sizes.curl
	plan, err := h.plan(n)
	if err != nil {
		return err
	}
	ratio := sr.add(fmt.Sprintf("xargs -P 8 curl wall time ÷ job wall time (%d rows)", n), "", atLeast(5))
	curlWall := sr.add("xargs -P 8 curl wall time", "s", nil)
	jobWall := sr.add("job wall time (--rate 0 --workers 8)", "s", nil)
	for i := range h.opts.runs {
		h.settle(sr)
		var jr jobRun
		api := newFastAPI(h.key, n)
		if err := serve(api, func(url string) (err error) {
			jr, err = h.runJob(sr, plan, url, "--rate", "0", "--workers", "8")
			return err
		}); err != nil {
			return err
		}
		var wall time.Duration
		api = newFastAPI(h.key, n)
		if err := serve(api, func(url string) (err error) {
			wall, err = h.runCurl(n, url)
			if err == nil && api.patches.Load() != int64(n) {
				err = fmt.Errorf("the fake answered %d of curl's %d PATCHes 200", api.patches.Load(), n)
			}
			return err
		}); err != nil {
			return err
		}
		ratio.values = append(ratio.values, wall.Seconds()/jr.wall.Seconds())
		curlWall.values = append(curlWall.values, wall.Seconds())
		jobWall.values = append(jobWall.values, jr.wall.Seconds())
		h.logf("run %d: curl %.2fs, job %.2fs: ratio %.1f", i+1, wall.Seconds(), jr.wall.Seconds(), wall.Seconds()/jr.wall.Seconds())
	}
	sr.notes = append(sr.notes, "xargs runs with -L 1 (one row, i.e. one curl with its --data-raw body and URL, per input line): the -n 1 of the brief, with a per-row body")
	return nil
}

// runCurl writes one xargs line per row and runs
// xargs -P 8 -L 1 curl -s -o /dev/null -w '%{http_code}\n' -X PATCH -H ... --data-raw BODY URL.
func (h *harness) runCurl(n int, baseURL string) (time.Duration, error) {
	args := filepath.Join(h.dir, "curl-args.txt")
	f, err := os.Create(args)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriter(f)
	col := map[string]int{"id": 0, "agent_id": 1, "nickname": 2}
	for i := range n {
		body := bareBody([]string{planID(i), planAgent(i), planNickname(i)}, col)
		fmt.Fprintf(w, "--data-raw '%s' '%s/organization-phone-numbers/%s'\n", body, baseURL, planID(i))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	f.Close()
	in, err := os.Open(args)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xargs", "-P", "8", "-L", "1",
		"curl", "-s", "-o", "/dev/null", "-w", `%{http_code}\n`, "-X", "PATCH",
		"-H", "Authorization: Bearer "+h.key,
		"-H", "Content-Type: application/json",
		"-H", "Accept: application/json",
		"-H", "User-Agent: "+h.userAgent())
	cmd.Stdin = in
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return wall, fmt.Errorf("xargs curl: %v: %s", err, stderr.String())
	}
	if got := strings.Count(stdout.String(), "200\n"); got != n {
		return wall, fmt.Errorf("xargs curl: %d of %d answered 200", got, n)
	}
	return wall, nil
}

// --- 3. latency hidden ---

// latency: the sandbox answering after 100 ms, the job at --workers 16 --rate 0.
func (h *harness) latency(sr *scenarioResult) error {
	n := h.sizes.latency
	plan, err := h.plan(n)
	if err != nil {
		return err
	}
	ws := workspace(n)
	wall := sr.add(fmt.Sprintf("rows/s, wall time (%d rows, 100 ms latency, --workers 16)", n), "rows/s", atLeast(150))
	sum := sr.add("rows/s, summary rows_per_s", "rows/s", nil)
	inFlight := sr.add("most requests in flight at the API (check: at most --workers)", "", atMost(16))
	for i := range h.opts.runs {
		h.settle(sr)
		api := sandbox.New(ws, sandbox.Options{Key: h.key, Latency: 100 * time.Millisecond})
		var jr jobRun
		if err := serve(api, func(url string) (err error) {
			jr, err = h.runJob(sr, plan, url, "--rate", "0", "--workers", "16")
			return err
		}); err != nil {
			return err
		}
		wall.values = append(wall.values, jr.rowsPerSecond(n))
		sum.values = append(sum.values, jr.summary.RowsPerS)
		inFlight.values = append(inFlight.values, float64(api.MaxInFlight()))
		h.logf("run %d: %.1f rows/s (wall %.2fs), summary %.1f rows/s, max in flight %d", i+1, jr.rowsPerSecond(n), jr.wall.Seconds(), jr.summary.RowsPerS, api.MaxInFlight())
	}
	sr.notes = append(sr.notes, "the ideal is 16 / 0.1 s = 160 rows/s; the bar is on the whole process's wall time")
	return nil
}

// --- 4. rate held ---

// rateHeld: --rate 50 --burst 1 --workers 8 against the sandbox answering at once; the
// fake records every request's arrival.
func (h *harness) rateHeld(sr *scenarioResult) error {
	n := h.sizes.rate
	plan, err := h.plan(n)
	if err != nil {
		return err
	}
	ws := workspace(n)
	achieved := sr.add(fmt.Sprintf("achieved request rate at --rate 50 --burst 1 (%d rows; (requests-1) ÷ first-to-last arrival)", n), "req/s", atLeast(47.5))
	window := sr.add("most requests in any sliding 1 s window", "", atMost(51))
	wall := sr.add("rows/s, wall time", "rows/s", nil)
	for i := range h.opts.runs {
		h.settle(sr)
		rec := newRecorder(sandbox.New(ws, sandbox.Options{Key: h.key}))
		var jr jobRun
		if err := serve(rec, func(url string) (err error) {
			jr, err = h.runJob(sr, plan, url, "--rate", "50", "--burst", "1", "--workers", "8")
			return err
		}); err != nil {
			return err
		}
		arrivals, statuses, _ := rec.snapshot()
		if statuses[http.StatusOK] < n {
			return fmt.Errorf("the fake answered %v for %d rows", statuses, n)
		}
		rate := float64(len(arrivals)-1) / arrivals[len(arrivals)-1].Sub(arrivals[0]).Seconds()
		most := maxInWindow(arrivals, time.Second)
		achieved.values = append(achieved.values, rate)
		window.values = append(window.values, float64(most))
		wall.values = append(wall.values, jr.rowsPerSecond(n))
		h.logf("run %d: %d requests at %.2f req/s, most in 1 s: %d, wall %.2fs", i+1, len(arrivals), rate, most, jr.wall.Seconds())
	}
	return nil
}

// --- 6. memory ---

// memory: peak RSS of the job process (VmHWM polled from /proc) on growing plans, run live
// against the fast fake at --rate 0 --workers 8.
func (h *harness) memory(sr *scenarioResult) error {
	type pair struct{ rss, rate *figure }
	figs := map[int]pair{}
	for _, n := range h.sizes.memory {
		var b *bar
		if limit, ok := h.sizes.memoryBars[n]; ok {
			b = atMost(limit)
		}
		figs[n] = pair{
			rss:  sr.add(fmt.Sprintf("peak RSS, %s-row plan", humanize.Comma(int64(n))), "MiB", b),
			rate: sr.add(fmt.Sprintf("rows/s, wall time, %s-row plan", humanize.Comma(int64(n))), "rows/s", nil),
		}
	}
	for _, n := range h.sizes.memory {
		plan, err := h.plan(n)
		if err != nil {
			return err
		}
		for i := range h.opts.runs {
			h.settle(sr)
			api := newFastAPI(h.key, n)
			var jr jobRun
			if err := serve(api, func(url string) (err error) {
				jr, err = h.runJob(sr, plan, url, "--rate", "0", "--workers", "8")
				return err
			}); err != nil {
				return err
			}
			mib := float64(jr.maxRSS) / 1024
			figs[n].rss.values = append(figs[n].rss.values, mib)
			figs[n].rate.values = append(figs[n].rate.values, jr.rowsPerSecond(n))
			h.logf("%d rows, run %d: peak RSS %.1f MiB, %.0f rows/s (wall %.1fs)", n, i+1, mib, jr.rowsPerSecond(n), jr.wall.Seconds())
		}
		if !h.opts.keep {
			os.Remove(plan.path)
			delete(h.plans, n)
		}
	}
	sr.notes = append(sr.notes, "peak RSS is the job process's VmHWM (peak resident set since exec), read from /proc every 20 ms; wait4's ru_maxrss is not used, as it also counts the harness's memory shared before exec; the fake API runs in the harness's process and is not counted")
	return nil
}
