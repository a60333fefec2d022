package report

import (
	"bufio"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"reassign/job"
)

// NewLogger logs to out at level (debug, info, warn, error): JSON lines, or the console
// format for format "console", or "auto" on a terminal. When file is not nil (a log
// file), every line also goes to it, as JSON whatever the format.
//
// In the console format the summary event is words for a person (Ending.Words): it
// shows its message, a line each, without its fields, which the JSON lines carry.
func NewLogger(out io.Writer, format, level string, terminal bool, file io.Writer) zerolog.Logger {
	lvl, _ := zerolog.ParseLevel(level)
	w := out
	if format == "console" || (format == "auto" && terminal) {
		w = zerolog.ConsoleWriter{Out: out, TimeFormat: "15:04:05", NoColor: !terminal,
			FormatPrepare: wordsOnly, FormatMessage: indentLines}
	}
	if file != nil {
		w = zerolog.MultiLevelWriter(w, file)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// wordsOnly keeps of the summary event its time, level and message.
func wordsOnly(evt map[string]any) error {
	if evt["event"] != "summary" {
		return nil
	}
	for k := range evt {
		switch k {
		case zerolog.TimestampFieldName, zerolog.LevelFieldName, zerolog.MessageFieldName:
		default:
			delete(evt, k)
		}
	}
	return nil
}

// consoleIndent lines up a message's later lines under its first, after "15:04:05 INF ".
const consoleIndent = "             "

// indentLines is a console message, its later lines indented under the first.
func indentLines(msg any) string {
	s, _ := msg.(string)
	return strings.ReplaceAll(s, "\n", "\n"+consoleIndent)
}

// LogSink is where the log lines go. Outside a run each line is written at once; during
// one (Hold) lines wait in a buffer that the runner flushes with the report: at full
// speed that saves a write per row. It is safe for concurrent use.
type LogSink struct {
	mu   sync.Mutex
	w    *bufio.Writer
	hold bool
}

// NewLogSink writes log lines to w.
func NewLogSink(w io.Writer) *LogSink { return &LogSink{w: bufio.NewWriterSize(w, 64<<10)} }

func (l *LogSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.w.Write(p)
	if err == nil && !l.hold {
		err = l.w.Flush()
	}
	return n, err
}

// Flush writes out the lines held.
func (l *LogSink) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

// Hold starts or stops holding lines; stopping writes out those held.
func (l *LogSink) Hold(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hold = on
	if !on {
		l.w.Flush()
	}
}

// Progress returns what a run calls with its progress, and how often: on a terminal it
// draws bar four times a second; otherwise it logs a progress event every 10 s. total is
// the rows to do, < 0 when unknown.
func Progress(log zerolog.Logger, bar *Bar, total int) (func(job.Summary), time.Duration) {
	if bar != nil {
		return func(s job.Summary) {
			bar.Update(s.Rows, total, s.Elapsed, s.Rows-s.Count(job.Outcome.Success))
		}, 250 * time.Millisecond
	}
	return func(s job.Summary) { LogProgress(log, s, total) }, 10 * time.Second
}

// LogProgress logs a progress event: rows done of total (total < 0: unknown), the
// pace, and the counts so far.
func LogProgress(log zerolog.Logger, s job.Summary, total int) {
	ev := log.Info().Str("event", "progress").Int("done", s.Rows).Int64("elapsed_ms", s.Elapsed.Milliseconds())
	rate := s.RowsPerSecond()
	ev = ev.Float64("rows_per_s", rate)
	if total >= 0 {
		ev = ev.Int("total", total)
		if rate > 0 {
			ev = ev.Int64("eta_s", int64(float64(total-s.Rows)/rate))
		}
	}
	ev.Dict("counts", counts(s)).Msg("progress")
}

func counts(s job.Summary) *zerolog.Event {
	d := zerolog.Dict()
	for _, o := range s.Outcomes() {
		if n := s.Counts[o]; n > 0 {
			d = d.Int(string(o), n)
		}
	}
	return d
}

// LogSummary logs the summary event that ends a run: its counts as fields, and as its
// message the end in words (Ending.Words), a line each.
func LogSummary(log zerolog.Logger, e *Ending) {
	s := e.Summary
	if s == nil {
		s = &job.Summary{}
	}
	ev := log.Info().Str("event", "summary").Int("rows", s.Rows).Dict("counts", counts(*s)).
		Int64("elapsed_ms", s.Elapsed.Milliseconds()).Float64("rows_per_s", s.RowsPerSecond()).
		Str("report", e.Report).Int("exit_code", e.ExitCode).Bool("sandbox", e.Sandbox).Bool("interrupted", s.Interrupted)
	if s.Stopped != nil {
		ev = ev.Str("stopped", s.Stopped.Error())
	}
	ev.Msg(strings.Join(e.Words(), "\n"))
}
