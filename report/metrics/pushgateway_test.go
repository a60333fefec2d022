package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"reassign/report/metrics/metricstest"
)

// startPushgateway, freePort and gatewaySeries are metricstest's, which the program's
// end-to-end tests share.
func startPushgateway(t *testing.T) string { return metricstest.StartPushgateway(t) }
func freePort() (string, error)            { return metricstest.FreePort() }
func gatewaySeries(t *testing.T, url string, group map[string]string) map[string]float64 {
	return metricstest.Series(t, url, group)
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
