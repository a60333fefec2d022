// Package metricstest starts a real Pushgateway for tests and reads back what was
// pushed to it: the metrics package's tests and the program's end-to-end tests share it.
package metricstest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// binaries are the names a Pushgateway is installed under: Debian's package
// (apt-get install prometheus-pushgateway), and upstream's release.
var binaries = []string{"prometheus-pushgateway", "pushgateway"}

// StartPushgateway starts a real Pushgateway on a loopback port, stopped when the test
// ends, and returns its URL. Off CI a missing Pushgateway skips the test; with CI set
// (where the CI script installs it) it fails it.
func StartPushgateway(t testing.TB) string {
	t.Helper()
	var bin string
	for _, name := range binaries {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Pushgateway on PATH (prometheus-pushgateway): the CI script installs it with apt-get")
		}
		t.Skip("no Pushgateway on PATH: apt-get install prometheus-pushgateway to run this test")
	}
	// It cannot listen on port 0 and say which port it got: take a free port and start it
	// there, once more on another port if something else took it meanwhile.
	var lastErr error
	for range 3 {
		url, err := try(t, bin)
		if err == nil {
			return url
		}
		lastErr = err
	}
	t.Fatalf("start %s: %v", bin, lastErr)
	return ""
}

func try(t testing.TB, bin string) (string, error) {
	addr, err := FreePort()
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

// FreePort is a loopback address no one listens on at the moment.
func FreePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Series reads the gateway's /metrics and returns the reassign_ series of the group
// with these grouping labels (job="reassign" included), keyed `name{label="value",...}`
// with their other labels sorted; the grouping labels, and the empty instance label the
// gateway adds, are left out of the keys.
func Series(t testing.TB, url string, group map[string]string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the gateway's /metrics: %v", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		if !strings.HasPrefix(name, "reassign_") {
			continue
		}
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
			var labels []string
			for _, l := range m.GetLabel() {
				if _, grouping := group[l.GetName()]; !grouping && l.GetName() != "instance" {
					labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
			}
			slices.Sort(labels)
			out[name+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}
