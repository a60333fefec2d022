// Command bench measures reassign against the performance targets of docs/performance.md.
//
//	go run ./job/bench [-runs 3] [-quick] [-only overhead,curl,latency,rate,budget,memory,plans] [-keep] [-settle 20s]
//	go run ./job/bench -serve 20000    # only the fast fake, for perf or strace on the job
//
// It builds the job once (go build from the module root), starts loopback fake APIs in
// its own process, drives the built binary through each scenario, and prints a markdown
// table of the median figures with PASS or FAIL against each target. Every run's report is
// read back (one row per plan row, every row updated, exit 0), so a broken job cannot
// look fast.
//
// Performance is never asserted in a unit test: bench_test.go runs the harness in -quick
// mode and checks only that every scenario ran and produced its figures.
//
// Exit status: 0 every target met; 1 a target missed; 2 a run was broken (wrong report, exit
// code, missing summary) or the harness could not run.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"reassign/job/sandbox"
)

func main() {
	if os.Getenv(bareEnv) != "" {
		os.Exit(bareMain(os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// scenarioNames lists the scenarios in the order they run.
var scenarioNames = []string{"overhead", "curl", "latency", "rate", "budget", "memory", "plans"}

// options are the harness settings.
type options struct {
	runs  int
	quick bool
	only  []string // scenario names; all when empty
	keep  bool     // keep the temporary directory (plans, reports, logs)
	// settle is how long to wait, before each measured run, for the machine to go quiet
	// (other processes under 25 % of the CPUs); 0 = don't wait.
	settle time.Duration
	log    io.Writer
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runs := fs.Int("runs", 3, "runs per figure; the table shows the median")
	quick := fs.Bool("quick", false, "tiny sizes (a smoke test of the harness, not a measurement)")
	only := fs.String("only", "", "comma-separated scenarios to run: "+strings.Join(scenarioNames, ","))
	keep := fs.Bool("keep", false, "keep the temporary directory with plans, reports and logs")
	settle := fs.Duration("settle", 20*time.Second, "before each measured run, wait up to this long for other processes to leave the CPUs (0 = don't)")
	serveRows := fs.Int("serve", 0, "only serve the fast fake API for a plan of this many rows, until interrupted (it prints how to run the job against it)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./job/bench [flags]\n\nMeasures reassign against the performance targets of docs/performance.md.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *runs < 1 {
		fmt.Fprintln(stderr, "bench: -runs must be at least 1")
		return 2
	}
	if *serveRows > 0 {
		return serveFake(*serveRows, stdout, stderr)
	}
	opts := options{runs: *runs, quick: *quick, keep: *keep, settle: *settle, log: stderr}
	if *quick {
		opts.settle = 0
	}
	if *only != "" {
		for _, name := range strings.Split(*only, ",") {
			name = strings.TrimSpace(name)
			if !slices.Contains(scenarioNames, name) {
				fmt.Fprintf(stderr, "bench: unknown scenario %q (have %s)\n", name, strings.Join(scenarioNames, ","))
				return 2
			}
			opts.only = append(opts.only, name)
		}
	}
	res, err := runHarness(opts)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	printTable(stdout, res)
	return res.exitCode()
}

// serveFake serves the fast fake for a plan of n rows until SIGINT or SIGTERM, so that a
// profiler can watch the job from outside: the same plan and fake as the overhead
// scenario, without the harness around them.
func serveFake(n int, stdout, stderr io.Writer) int {
	dir, err := os.MkdirTemp("", "reassign-serve-")
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	defer os.RemoveAll(dir)
	plan, err := writePlan(dir, n)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	const key = "bench_serve:0123456789abcdef"
	url, stop, err := sandbox.Start(newFastAPI(key, n))
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	defer stop()
	fmt.Fprintf(stdout, "DIALNEXA_API_KEY=%s reassign --plan %s --base-url %s --rate 0 --workers 8 --report -\n", key, plan.path, url)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	<-sigs
	return 0
}
