package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pushgatewayBinaries are the names a Pushgateway is installed under: Debian's package
// (apt-get install prometheus-pushgateway), and upstream's release.
var pushgatewayBinaries = []string{"prometheus-pushgateway", "pushgateway"}

// startPushgateway starts a real Pushgateway on a loopback port and returns its URL. Off
// CI a missing Pushgateway skips the test; with CI set (where .ci/run installs it) it
// fails it.
func startPushgateway(t *testing.T) string {
	t.Helper()
	var bin string
	for _, name := range pushgatewayBinaries {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Pushgateway on PATH (prometheus-pushgateway): .ci/run installs it with apt-get")
		}
		t.Skip("no Pushgateway on PATH: apt-get install prometheus-pushgateway to run this test")
	}
	// It cannot listen on port 0 and say which port it got: take a free port and start it
	// there, once more on another port if something else took it meanwhile.
	var lastErr error
	for range 3 {
		url, err := tryPushgateway(t, bin)
		if err == nil {
			return url
		}
		lastErr = err
	}
	t.Fatalf("start %s: %v", bin, lastErr)
	return ""
}

func tryPushgateway(t *testing.T, bin string) (string, error) {
	addr, err := freePort()
	if err != nil {
		return "", err
	}
	var stderr strings.Builder
	cmd := exec.Command(bin,
		"--web.listen-address="+addr,
		"--persistence.file="+filepath.Join(t.TempDir(), "pushgateway.data"),
		"--log.level=warn")
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	url := "http://" + addr
	client := &http.Client{Timeout: time.Second}
	// Readiness polled until the gateway answers, it exits, or 20 s pass.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case err := <-exited:
			return "", fmt.Errorf("exited before it was ready (%v): %s", err, stderr.String())
		case <-deadline:
			stop()
			return "", fmt.Errorf("not ready after 20 s: %s", stderr.String())
		case <-tick.C:
		}
		resp, err := client.Get(url + "/-/ready")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Cleanup(stop)
			return url, nil
		}
	}
}

// freePort is a loopback address no one listens on at the moment.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// gatewaySeries reads the gateway's /metrics and returns the reassign_ series of the
// group with these grouping labels (job="reassign" included), without those labels, as
// WriteFile's series are keyed once the file's own labels are taken off.
func gatewaySeries(t *testing.T, url string, group map[string]string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	families := parseText(t, resp.Body)
	for _, f := range families {
		var kept = f.Metric[:0]
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			in := true
			for k, v := range group {
				in = in && have[k] == v
			}
			if !in {
				continue
			}
			// The grouping labels, and the empty instance label the gateway adds.
			labels := m.Label[:0]
			for _, l := range m.GetLabel() {
				if _, grouping := group[l.GetName()]; !grouping && l.GetName() != "instance" {
					labels = append(labels, l)
				}
			}
			m.Label = labels
			kept = append(kept, m)
		}
		f.Metric = kept
	}
	return series(families)
}

func group(r Run) map[string]string {
	return map[string]string{"job": "reassign", "command": r.Command, "plan": r.Plan, "shard": fmt.Sprint(r.Shard)}
}

// TestPushgateway pushes to a real Pushgateway and reads the series back from its
// /metrics: what a success leaves, what a later failure in the same group keeps, what a
// group that never succeeded lacks, and that the metrics file holds the same series.
func TestPushgateway(t *testing.T) {
	t.Parallel()
	url := startPushgateway(t)
	client := &http.Client{}
	ctx := context.Background()

	// A verify that found no drift, just now.
	ok := sampleRun(CommandVerify, 0)
	ok.Plan = "nightly team-move/emea" // a slash and a space: the push client encodes them
	ok.Finished = time.Now()
	success := float64(ok.Finished.UnixNano()) / 1e9
	if err := Push(ctx, url, client, ok); err != nil {
		t.Fatal(err)
	}
	got := gatewaySeries(t, url, group(ok))
	diff(t, "after exit 0", got, expected(ok, success))
	if last := got[nameLastSuccess+"{}"]; time.Since(time.Unix(0, int64(last*1e9))) > time.Hour {
		t.Errorf("last success %v is not recent", last)
	}

	// The metrics file of the same run holds the same series.
	file := filepath.Join(t.TempDir(), "reassign.prom")
	if err := WriteFile(file, ok); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	fromFile := parseText(t, f)
	f.Close()
	for _, fam := range fromFile {
		for _, m := range fam.GetMetric() {
			labels := m.Label[:0]
			for _, l := range m.GetLabel() {
				if _, grouping := group(ok)[l.GetName()]; !grouping {
					labels = append(labels, l)
				}
			}
			m.Label = labels
		}
	}
	diff(t, "the metrics file against the gateway", series(fromFile), got)

	// The next hour's verify finds drift: exit 3. Its series replace the first's, but the
	// last success stays.
	drift := sampleRun(CommandVerify, 3)
	drift.Plan = ok.Plan
	drift.Rows = map[string]int{"matches": 38, "differs": 2, "not_found": 1, "invalid": 0}
	drift.Requests = map[string]int64{"2xx": 11, "5xx": 2, "transport": 1}
	drift.Throttled = 1
	drift.Finished = ok.Finished.Add(time.Hour)
	if err := Push(ctx, url, client, drift); err != nil {
		t.Fatal(err)
	}
	got = gatewaySeries(t, url, group(drift))
	diff(t, "after exit 3", got, expected(drift, success))
	if got[nameRows+`{outcome="differs"}`] != 2 {
		t.Error(`reassign_rows{outcome="differs"} is not 2: the drift alert would not fire`)
	}

	// Another shard of a run that never succeeded: no last-success series at all, and the
	// first group is untouched.
	never := sampleRun(CommandRun, 75)
	never.Plan = ok.Plan
	never.Shard = 1
	if err := Push(ctx, url, client, never); err != nil {
		t.Fatal(err)
	}
	diff(t, "a group that never succeeded", gatewaySeries(t, url, group(never)), expected(never, 0))
	diff(t, "the first group, after another group's push", gatewaySeries(t, url, group(drift)), expected(drift, success))
}

// TestPushToAGatewayThatIsDown: nothing listens on the port; Push fails with an error
// naming the gateway, at once.
func TestPushToAGatewayThatIsDown(t *testing.T) {
	t.Parallel()
	addr, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	err = Push(context.Background(), "http://"+addr, &http.Client{}, sampleRun(CommandRun, 0))
	var opErr *net.OpError
	if !errors.As(err, &opErr) || !strings.Contains(err.Error(), "push metrics to http://"+addr) {
		t.Errorf("err = %v, want a connection error naming the gateway", err)
	}
}
