package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// finished is a fixed end time, so that expected timestamps are exact.
var finished = time.Date(2026, 11, 27, 3, 15, 0, 500_000_000, time.UTC)

func sampleRun(command string, exitCode int) Run {
	return Run{
		Command: command, Plan: "team-move.csv", Shard: 2,
		Rows:     map[string]int{"matches": 40, "differs": 0, "not_found": 1, "invalid": 0},
		Requests: map[string]int64{"2xx": 12, "4xx": 1},
		// No 5xx or transport: they must still be there, at 0.
		Throttled: 0, Duration: 2500 * time.Millisecond, ExitCode: exitCode, Finished: finished,
	}
}

// series flattens metric families into "name{label="value",...}" -> value, labels
// sorted, keeping the reassign_ series only.
func series(families map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for name, f := range families {
		if !strings.HasPrefix(name, "reassign_") {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			slices.Sort(labels)
			out[name+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

// expected is what r's series must be, each with the labels extra adds ("k=\"v\"" each).
func expected(r Run, lastSuccess float64, extra ...string) map[string]float64 {
	key := func(name string, labels ...string) string {
		all := append(slices.Clone(extra), labels...)
		slices.Sort(all)
		return name + "{" + strings.Join(all, ",") + "}"
	}
	out := map[string]float64{
		key(nameThrottled):                     float64(r.Throttled),
		key(nameDuration):                      r.Duration.Seconds(),
		key(nameExitCode):                      float64(r.ExitCode),
		key(nameRequests, `class="2xx"`):       float64(r.Requests["2xx"]),
		key(nameRequests, `class="4xx"`):       float64(r.Requests["4xx"]),
		key(nameRequests, `class="5xx"`):       float64(r.Requests["5xx"]),
		key(nameRequests, `class="transport"`): float64(r.Requests["transport"]),
	}
	for outcome, n := range r.Rows {
		out[key(nameRows, fmt.Sprintf("outcome=%q", outcome))] = float64(n)
	}
	if lastSuccess != 0 {
		out[key(nameLastSuccess)] = lastSuccess
	}
	return out
}

func parseText(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse the exposition text: %v", err)
	}
	return families
}

func diff(t *testing.T, what string, got, want map[string]float64) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: missing %s (want %v)", what, k, want[k])
		} else if g != want[k] {
			t.Errorf("%s: %s = %v, want %v", what, k, g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %s = %v", what, k, got[k])
		}
	}
}

func TestPlanName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ plan, name, want string }{
		{"/plan/team-move.csv", "", "team-move.csv"},
		{"team-move.xlsx", "", "team-move.xlsx"},
		{"-", "", "stdin"},
		{"-", "nightly", "nightly"},
		{"/plan/plan", "emea-numbers", "emea-numbers"},
		{"/plans/bad\xffname.csv", "", "bad\uFFFDname.csv"},
	} {
		if got := PlanName(tc.plan, tc.name); got != tc.want {
			t.Errorf("PlanName(%q, %q) = %q, want %q", tc.plan, tc.name, got, tc.want)
		}
	}
}

func TestRequestClasses(t *testing.T) {
	t.Parallel()
	got := RequestClasses(map[string]int64{"total": 20, "2xx": 15, "3xx": 0, "4xx": 3, "5xx": 1, "no_answer": 1})
	want := map[string]int64{"2xx": 15, "3xx": 0, "4xx": 3, "5xx": 1, "transport": 1}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSeries(t *testing.T) {
	t.Parallel()
	success := float64(finished.UnixNano()) / 1e9
	withRedirect := sampleRun(CommandRun, 75)
	withRedirect.Requests = map[string]int64{"2xx": 3, "3xx": 2, "transport": 4}
	for _, tc := range []struct {
		name string
		run  Run
		last float64 // what the registry is given to keep
		want map[string]float64
	}{
		{"success has the timestamp", sampleRun(CommandVerify, 0), 0, expected(sampleRun(CommandVerify, 0), success)},
		{"a failure has none", sampleRun(CommandVerify, 3), 0, expected(sampleRun(CommandVerify, 3), 0)},
		{"a failure keeps the one given", sampleRun(CommandVerify, 3), 1234.5, expected(sampleRun(CommandVerify, 3), 1234.5)},
		{"a success replaces the one given", sampleRun(CommandRun, 0), 1234.5, expected(sampleRun(CommandRun, 0), success)},
		{"another class only when above 0", withRedirect, 0, func() map[string]float64 {
			m := expected(withRedirect, 0)
			m[nameRequests+`{class="3xx"}`] = 2
			return m
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg, err := tc.run.registry(nil, tc.last)
			if err != nil {
				t.Fatal(err)
			}
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			families := map[string]*dto.MetricFamily{}
			for _, mf := range mfs {
				if mf.GetType() != dto.MetricType_GAUGE {
					t.Errorf("%s is a %s, want a gauge: each holds the last run's value", mf.GetName(), mf.GetType())
				}
				families[mf.GetName()] = mf
			}
			diff(t, tc.name, series(families), tc.want)
		})
	}
}

func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "reassign.prom")
	labels := []string{`command="verify"`, `plan="team-move.csv"`, `shard="2"`}
	read := func() map[string]float64 {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return series(parseText(t, f))
	}

	ok := sampleRun(CommandVerify, 0)
	if err := WriteFile(path, ok); err != nil {
		t.Fatal(err)
	}
	success := float64(finished.UnixNano()) / 1e9
	diff(t, "after exit 0", read(), expected(ok, success, labels...))
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644: node exporter runs as another user", fi.Mode(), err)
	}

	// A failed run replaces the file but keeps the last success.
	failed := sampleRun(CommandVerify, 3)
	failed.Rows["differs"] = 5
	failed.Finished = finished.Add(time.Hour)
	if err := WriteFile(path, failed); err != nil {
		t.Fatal(err)
	}
	diff(t, "after exit 3", read(), expected(failed, success, labels...))

	// Another plan in the same file never inherits this one's success.
	other := sampleRun(CommandVerify, 75)
	other.Plan = "other.csv"
	if err := WriteFile(path, other); err != nil {
		t.Fatal(err)
	}
	diff(t, "another plan", read(), expected(other, 0, `command="verify"`, `plan="other.csv"`, `shard="2"`))

	// A file that is not a metrics file is replaced, not an error.
	if err := os.WriteFile(path, []byte("not { metrics\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, failed); err != nil {
		t.Fatal(err)
	}
	diff(t, "over a damaged file", read(), expected(failed, 0, labels...))

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the folder holds %d files, want only the metrics file (no temporary file left)", len(entries))
	}

	if err := WriteFile(filepath.Join(dir, "missing", "x.prom"), ok); err == nil || !strings.Contains(err.Error(), "write metrics file") {
		t.Errorf("a folder that does not exist: %v", err)
	}
}

// pushPath splits a push URL's path (/metrics/job/reassign/k/v/...) into its labels.
func pushPath(t *testing.T, p string) map[string]string {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(p, "/metrics/"), "/")
	if len(parts)%2 != 0 {
		t.Fatalf("path %s: not label/value pairs", p)
	}
	labels := map[string]string{}
	for i := 0; i < len(parts); i += 2 {
		labels[parts[i]] = parts[i+1]
	}
	return labels
}

func TestPushRequest(t *testing.T) {
	t.Parallel()
	type seen struct {
		method, path, contentType, user, password string
		auth                                      bool
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, auth := r.BasicAuth()
		got <- seen{r.Method, r.URL.EscapedPath(), r.Header.Get("Content-Type"), user, password, auth}
		if r.URL.Query().Get("fail") != "" || strings.Contains(r.URL.Path, "refused") {
			http.Error(w, "pushed metrics are invalid or inconsistent", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	withAuth := strings.Replace(srv.URL, "http://", "http://ops:s3cret-pw@", 1)

	if err := Push(context.Background(), withAuth, srv.Client(), sampleRun(CommandDryRun, 0)); err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.method != http.MethodPost {
		t.Errorf("method %s, want POST (Add: only the series sent are replaced)", s.method)
	}
	want := map[string]string{"job": "reassign", "command": "dry_run", "plan": "team-move.csv", "shard": "2"}
	if labels := pushPath(t, s.path); !maps.Equal(labels, want) {
		t.Errorf("grouping %v, want %v", labels, want)
	}
	if !strings.Contains(s.contentType, "application/vnd.google.protobuf") {
		t.Errorf("Content-Type %q", s.contentType)
	}
	if !s.auth || s.user != "ops" || s.password != "s3cret-pw" {
		t.Errorf("basic auth %v %q %q, want the URL's user and password", s.auth, s.user, s.password)
	}

	refused := sampleRun(CommandRun, 0)
	refused.Plan = "refused"
	err := Push(context.Background(), withAuth, srv.Client(), refused)
	<-got
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("a 400: %v, want an error naming the status", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("the error shows the password: %v", err)
	}
}

func TestPushRefusesBadInput(t *testing.T) {
	t.Parallel()
	noCommand := sampleRun("", 0)
	noPlan := sampleRun(CommandRun, 0)
	noPlan.Plan = ""
	noTime := sampleRun(CommandRun, 0)
	noTime.Finished = time.Time{}
	for _, tc := range []struct {
		name, url string
		run       Run
		want      string
	}{
		{"no URL", "", sampleRun(CommandRun, 0), "no Pushgateway URL"},
		{"another scheme", "ftp://gw:9091", sampleRun(CommandRun, 0), "want http://host:port"},
		{"no host", "http://", sampleRun(CommandRun, 0), "want http://host:port"},
		{"no command", "http://127.0.0.1:1", noCommand, `command ""`},
		{"no plan", "http://127.0.0.1:1", noPlan, "no plan name"},
		{"no end time", "http://127.0.0.1:1", noTime, "no end time"},
	} {
		err := Push(context.Background(), tc.url, nil, tc.run)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "x.prom"), noPlan); err == nil {
		t.Error("WriteFile with no plan name: no error")
	}
}

// TestPushGivesUpOnAHangingGateway runs a gateway that takes the request and never
// answers, over an in-memory connection, on fake time: Push returns after PushTimeout
// exactly, with a deadline error, whatever the http.Client's own timeout (none here).
func TestPushGivesUpOnAHangingGateway(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srvConn, cliConn := net.Pipe()
		received := make(chan string, 1)
		release := make(chan struct{})
		go func() {
			defer srvConn.Close()
			req, err := http.ReadRequest(bufio.NewReader(srvConn))
			if err == nil {
				received <- req.Method
			}
			<-release
		}()
		tr := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return cliConn, nil }}
		client := &http.Client{Transport: tr}

		start := time.Now()
		err := Push(context.Background(), "http://gateway.invalid:9091", client, sampleRun(CommandVerify, 0))
		elapsed := time.Since(start)

		if method := <-received; method != http.MethodPost {
			t.Errorf("the gateway got %s", method)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want a deadline error", err)
		}
		if elapsed != PushTimeout {
			t.Errorf("returned after %v of fake time, want %v", elapsed, PushTimeout)
		}
		close(release)
		tr.CloseIdleConnections()
	})
}

// TestPushHonoursTheCallersContext: a context already done sends nothing.
func TestPushHonoursTheCallersContext(t *testing.T) {
	t.Parallel()
	hits := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits <- struct{}{} }))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Push(ctx, srv.URL, srv.Client(), sampleRun(CommandRun, 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	select {
	case <-hits:
		t.Error("a request reached the gateway")
	default:
	}
}

// TestBadLabelValue: an outcome that is no label value is an error, never a panic.
func TestBadLabelValue(t *testing.T) {
	t.Parallel()
	r := sampleRun(CommandRun, 0)
	r.Rows = map[string]int{"bad\xff": 1}
	if err := WriteFile(filepath.Join(t.TempDir(), "x.prom"), r); err == nil {
		t.Error("no error")
	}
	if err := Push(context.Background(), "http://127.0.0.1:1", nil, r); err == nil {
		t.Error("no error")
	}
}

// TestWriteMatchesWriteFile: Write gives the text WriteFile leaves in its file, and keeps
// the last success of the file it is told it replaces.
func TestWriteMatchesWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "reassign.prom")
	ok := sampleRun(CommandRun, 0)
	if err := WriteFile(path, ok); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, ok, ""); err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(file) {
		t.Errorf("Write:\n%s\nWriteFile:\n%s", buf.String(), file)
	}

	failed := sampleRun(CommandRun, 75)
	buf.Reset()
	if err := Write(&buf, failed, path); err != nil {
		t.Fatal(err)
	}
	labels := []string{`command="run"`, `plan="team-move.csv"`, `shard="2"`}
	diff(t, "a failed run over the success's file", series(parseText(t, &buf)), expected(failed, float64(finished.UnixNano())/1e9, labels...))
	buf.Reset()
	if err := Write(&buf, failed, filepath.Join(dir, "none.prom")); err != nil {
		t.Fatal(err)
	}
	diff(t, "a failed run with no file before", series(parseText(t, &buf)), expected(failed, 0, labels...))
}
