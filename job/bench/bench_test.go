package main

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets the test binary serve as the bare Go loop's child process, as the
// harness's own binary does under go run.
func TestMain(m *testing.M) {
	if os.Getenv(bareEnv) != "" {
		os.Exit(bareMain(os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestQuickHarness runs every scenario at tiny sizes and checks that each ran, produced
// its figures and read back complete reports. It asserts no performance target: timings on
// a shared machine are not a test.
func TestQuickHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and drives the job binary")
	}
	var log bytes.Buffer
	res, err := runHarness(options{runs: 1, quick: true, log: &log})
	if err != nil {
		t.Fatalf("harness: %v\n%s", err, log.String())
	}
	_, noCurl := exec.LookPath("curl")
	_, noXargs := exec.LookPath("xargs")
	byName := map[string]*scenarioResult{}
	for _, s := range res.scenarios {
		byName[s.name] = s
	}
	for _, name := range scenarioNames {
		s := byName[name]
		switch {
		case s == nil:
			t.Errorf("scenario %s did not run", name)
			continue
		case s.skipped != "" && name == "curl" && (noCurl != nil || noXargs != nil):
			t.Logf("scenario %s skipped: %s", name, s.skipped)
			continue
		case s.skipped != "":
			t.Errorf("scenario %s skipped: %s", name, s.skipped)
			continue
		case s.err != nil:
			t.Errorf("scenario %s: %v", name, s.err)
			continue
		}
		if len(s.figures) == 0 {
			t.Errorf("scenario %s produced no figure", name)
		}
		for _, f := range s.figures {
			if len(f.values) != 1 || math.IsNaN(f.median()) || math.IsInf(f.median(), 0) {
				t.Errorf("scenario %s, %s: values %v, want one finite value", name, f.name, f.values)
			}
		}
		if s.reports == 0 || s.rows == 0 {
			t.Errorf("scenario %s read back no complete report", name)
		}
	}
	var table bytes.Buffer
	printTable(&table, res)
	for _, name := range scenarioNames {
		if !strings.Contains(table.String(), "| "+name+" |") {
			t.Errorf("table has no row for %s:\n%s", name, table.String())
		}
	}
	if t.Failed() {
		t.Logf("harness log:\n%s", log.String())
	}
}
