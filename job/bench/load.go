package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuTimes reads the machine's total and idle CPU time (in clock ticks) from /proc/stat.
func cpuTimes() (total, idle uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, false
	}
	for i, f := range fields[1:] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return total, idle, true
}

// cpuBusy is the share of the machine's CPU time (0..1) spent not idle over d, or -1
// where /proc/stat cannot be read. Called while the harness itself waits, it measures the
// other processes.
func cpuBusy(d time.Duration) float64 {
	t0, i0, ok := cpuTimes()
	if !ok {
		return -1
	}
	time.Sleep(d)
	t1, i1, ok := cpuTimes()
	if !ok || t1 <= t0 {
		return -1
	}
	return 1 - float64(i1-i0)/float64(t1-t0)
}

// settle waits, up to opts.settle, for other processes to use under a quarter of the
// CPUs, then records how busy the machine was just before the run.
func (h *harness) settle(sr *scenarioResult) {
	deadline := time.Now().Add(h.opts.settle)
	for {
		b := cpuBusy(300 * time.Millisecond)
		if b < 0.25 || time.Now().After(deadline) {
			if b >= 0 {
				sr.busy = append(sr.busy, b)
			}
			return
		}
	}
}

// busyNote says how busy the machine was before each measured run.
func (sr *scenarioResult) busyNote() string {
	if len(sr.busy) == 0 {
		return ""
	}
	parts := make([]string, len(sr.busy))
	for i, b := range sr.busy {
		parts[i] = fmt.Sprintf("%.0f %%", 100*b)
	}
	return "CPU busy with other processes just before each measured run: " + strings.Join(parts, ", ")
}
