// Package metrics turns the end of a run, a dry run or a verify into Prometheus series,
// and sends them where a scheduled job's metrics go: a Pushgateway (Push) or a file for
// node exporter's textfile collector (WriteFile).
//
// The series, each a gauge holding the last run's value:
//
//	reassign_rows{outcome}                    rows per outcome, every outcome of the run (0 too)
//	reassign_requests{class}                  requests by answer: 2xx, 4xx, 5xx, transport (no answer)
//	reassign_throttled                        answers 429 Too Many Requests
//	reassign_duration_seconds                 how long the run took
//	reassign_exit_code                        the run's exit code
//	reassign_last_success_timestamp_seconds   when it ended, only when the exit code is 0
//
// A Pushgateway keys them by job="reassign", command, plan and shard; a metrics file
// carries command, plan and shard as labels of each series. A failed run leaves the last
// success's timestamp where it was in both, so that an alert on its age fires when a
// scheduled run fails or stops running.
package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Job is the Pushgateway job the series are pushed under.
const Job = "reassign"

// PushTimeout bounds a push, connection and answer included: the push client waits as
// long as its http.Client lets it, and a Pushgateway that hangs must not hold the end of a
// run (a Kubernetes pod has 30 s between SIGTERM and SIGKILL).
const PushTimeout = 5 * time.Second

// The commands, as the command label spells them.
const (
	CommandRun    = "run"
	CommandVerify = "verify"
	CommandDryRun = "dry_run"
)

// Series names.
const (
	nameRows        = "reassign_rows"
	nameRequests    = "reassign_requests"
	nameThrottled   = "reassign_throttled"
	nameDuration    = "reassign_duration_seconds"
	nameExitCode    = "reassign_exit_code"
	nameLastSuccess = "reassign_last_success_timestamp_seconds"
)

// classes are the request classes reassign_requests always has, 0 included.
var classes = [...]string{"2xx", "4xx", "5xx", "transport"}

// Run is what a run, dry run or verify ended with, in plain values.
type Run struct {
	Command string // CommandRun, CommandVerify or CommandDryRun
	Plan    string // the plan label: see PlanName
	Shard   int    // this shard's index (0 without shards)
	// Rows counts the rows per outcome ("updated", "differs", ...). Give every outcome the
	// command can have, 0 included: an outcome missing here has no series at all, and a
	// series absent is not a series at 0 to an alert rule.
	Rows map[string]int
	// Requests counts the requests by the class of their answer: "2xx", "4xx", "5xx" and
	// "transport" (no answer) are always sent, 0 included; another class (a "3xx") only
	// when it is above 0. RequestClasses converts the job's own counts.
	Requests  map[string]int64
	Throttled int64 // answers 429
	Duration  time.Duration
	ExitCode  int
	Finished  time.Time // when it ended: the last success's timestamp when ExitCode is 0
}

// PlanName is the plan label: name (--metrics-name) when set, "stdin" for a plan read
// from stdin ("-"), else the plan file's base name ("team-move.csv").
func PlanName(plan, name string) string {
	switch {
	case name != "":
		plan = name
	case plan == "-":
		plan = "stdin"
	default:
		plan = filepath.Base(plan)
	}
	// A label value is UTF-8; a file name need not be.
	return strings.ToValidUTF8(plan, "\uFFFD")
}

// RequestClasses converts request counts by class as the job keeps them ("2xx", "3xx",
// "4xx", "5xx", "no_answer", "total") into Run.Requests: "no_answer" is "transport", and
// the total is left out (it is the sum of the rest).
func RequestClasses(byClass map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(byClass))
	for class, n := range byClass {
		switch class {
		case "total":
		case "no_answer":
			out["transport"] += n
		default:
			out[class] += n
		}
	}
	return out
}

func (r Run) check() error {
	switch r.Command {
	case CommandRun, CommandVerify, CommandDryRun:
	default:
		return fmt.Errorf("command %q is none of %s, %s, %s", r.Command, CommandRun, CommandVerify, CommandDryRun)
	}
	if r.Plan == "" {
		return errors.New("no plan name")
	}
	if r.Finished.IsZero() {
		return errors.New("no end time")
	}
	return nil
}

// grouping is the labels that tell one scheduled job's series from another's.
func (r Run) grouping() prometheus.Labels {
	return prometheus.Labels{"command": r.Command, "plan": r.Plan, "shard": strconv.Itoa(r.Shard)}
}

// registry holds r's series, each with the labels given. lastSuccess is the timestamp to
// keep when r did not succeed (0: none).
func (r Run) registry(labels prometheus.Labels, lastSuccess float64) (*prometheus.Registry, error) {
	reg := prometheus.NewPedanticRegistry()
	to := prometheus.WrapRegistererWith(labels, reg)

	rows := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: nameRows,
		Help: "Plan rows per outcome at the end of the last run of this command, plan and shard.",
	}, []string{"outcome"})
	for outcome, n := range r.Rows {
		if err := set(rows, outcome, float64(n)); err != nil {
			return nil, err
		}
	}
	requests := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: nameRequests,
		Help: "Requests the last run sent, by the class of their answer (transport: no answer).",
	}, []string{"class"})
	for _, class := range classes {
		if err := set(requests, class, float64(r.Requests[class])); err != nil {
			return nil, err
		}
	}
	for class, n := range r.Requests {
		if n > 0 {
			if err := set(requests, class, float64(n)); err != nil {
				return nil, err
			}
		}
	}
	collectors := []prometheus.Collector{rows, requests,
		gauge(nameThrottled, "Answers 429 Too Many Requests in the last run.", float64(r.Throttled)),
		gauge(nameDuration, "How long the last run took, in seconds.", r.Duration.Seconds()),
		gauge(nameExitCode, "The last run's exit code: 0 done, 3 rows need a person, 4 partly put back, 75 temporary (rerun), others refused.", float64(r.ExitCode)),
	}
	if r.ExitCode == 0 {
		lastSuccess = float64(r.Finished.UnixNano()) / 1e9
	}
	if lastSuccess != 0 {
		collectors = append(collectors, gauge(nameLastSuccess, "When a run last ended with exit code 0, in seconds since the Unix epoch.", lastSuccess))
	}
	for _, c := range collectors {
		if err := to.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// set sets the series of vec whose one label is value: an error, not a panic, for a
// value that is no label value (not UTF-8).
func set(vec *prometheus.GaugeVec, value string, v float64) error {
	g, err := vec.GetMetricWithLabelValues(value)
	if err != nil {
		return err
	}
	g.Set(v)
	return nil
}

func gauge(name, help string, v float64) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	g.Set(v)
	return g
}

// Push sends r's series to the Pushgateway at gateway (a URL, or host:port for http)
// under job="reassign" and the grouping labels command, plan and shard. It uses the
// Pushgateway's POST (the client's Add): only the series sent replace those of the same
// name in the group, so a failed run, which sends no last-success timestamp, keeps the
// one an earlier success left. A user and password in the URL are sent as basic auth and
// appear in no error.
//
// Push gives up after PushTimeout, or when ctx is done: at the end of an interrupted run,
// pass a context the interruption did not cancel (context.WithoutCancel). A nil client is
// a plain &http.Client{}. A failed push is an error for the caller to log; it should
// never change the run's exit code.
func Push(ctx context.Context, gateway string, client *http.Client, r Run) error {
	gw, err := parseGateway(gateway)
	if err != nil {
		return fmt.Errorf("push metrics: %w", err)
	}
	if err := r.check(); err != nil {
		return fmt.Errorf("push metrics to %s: %w", gw.shown, err)
	}
	reg, err := r.registry(nil, 0)
	if err != nil {
		return fmt.Errorf("push metrics to %s: %w", gw.shown, err)
	}
	if client == nil {
		client = &http.Client{}
	}
	p := push.New(gw.base, Job).Gatherer(reg).Client(client)
	if gw.user != nil {
		password, _ := gw.user.Password()
		p.BasicAuth(gw.user.Username(), password)
	}
	for name, value := range r.grouping() {
		p.Grouping(name, value)
	}
	ctx, cancel := context.WithTimeout(ctx, PushTimeout)
	defer cancel()
	if err := p.AddContext(ctx); err != nil {
		return fmt.Errorf("push metrics to %s: %w", gw.shown, err)
	}
	return nil
}

// Gateway checks a Pushgateway URL (or host:port, for http) as Push reads it, and
// returns it as messages show it: its password redacted.
func Gateway(raw string) (shown string, err error) {
	gw, err := parseGateway(raw)
	return gw.shown, err
}

// gateway is a Pushgateway URL with its user information taken out: the push client
// would otherwise put the password into its error messages.
type gateway struct {
	base  string        // the URL without user information
	user  *url.Userinfo // nil for none
	shown string        // the URL for messages, password redacted
}

func parseGateway(raw string) (gateway, error) {
	if raw == "" {
		return gateway{}, errors.New("no Pushgateway URL")
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return gateway{}, fmt.Errorf("bad Pushgateway URL: %w", err)
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return gateway{}, fmt.Errorf("bad Pushgateway URL %s: want http://host:port or https://host:port", u.Redacted())
	}
	gw := gateway{user: u.User, shown: u.Redacted()}
	u.User = nil
	gw.base = u.String()
	return gw, nil
}

// WriteFile writes r's series to path in the text format, for node exporter's textfile
// collector (name it *.prom in the collector's folder), with command, plan and shard as
// labels of each series. The file is replaced whole: written beside path and renamed, so
// the collector never reads half a file. When r did not succeed, the last-success
// timestamp of the file it replaces (for the same command, plan and shard) is kept, as a
// Pushgateway keeps it.
func WriteFile(path string, r Run) error {
	if err := r.check(); err != nil {
		return fmt.Errorf("write metrics file %s: %w", path, err)
	}
	var last float64
	if r.ExitCode != 0 {
		last = lastSuccessIn(path, r.grouping())
	}
	reg, err := r.registry(r.grouping(), last)
	if err != nil {
		return fmt.Errorf("write metrics file %s: %w", path, err)
	}
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("write metrics file %s: %w", path, err)
	}
	return nil
}

// Write writes r's series to w in the text format, as WriteFile writes them to its
// file, for a caller that replaces the file itself (writes beside it, then renames it).
// previous names the file being replaced ("" for none): when r did not succeed, the
// last-success timestamp it holds for the same command, plan and shard is kept.
func Write(w io.Writer, r Run, previous string) error {
	if err := r.check(); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	var last float64
	if r.ExitCode != 0 && previous != "" {
		last = lastSuccessIn(previous, r.grouping())
	}
	reg, err := r.registry(r.grouping(), last)
	if err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	families, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(w, f); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
	}
	return nil
}

// lastSuccessIn is the last-success timestamp a metrics file holds for the series with
// these labels; 0 when there is no such file, series or value, or the file is not a
// metrics file (it is replaced anyway).
func lastSuccessIn(path string, labels prometheus.Labels) float64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		return 0
	}
	family := families[nameLastSuccess]
	if family == nil {
		return 0
	}
	for _, m := range family.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		if len(have) == len(labels) && sameLabels(have, labels) && m.GetGauge() != nil {
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func sameLabels(have map[string]string, want prometheus.Labels) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
