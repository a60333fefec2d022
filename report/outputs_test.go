package report

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"reassign/job"
)

// files returns every file under dir with its content.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		got[path] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sameFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestOutputsCheck: an output that names a file the command reads or another output is
// a clash, however the name is spelt; "-" and devices never are; an existing New
// output is ErrExists, after the clashes. Check touches no file.
func TestOutputsCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.csv")
	if err := os.WriteFile(plan, []byte("id,agent_id\nphn_1,agt_a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(plan, filepath.Join(dir, "link.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(plan, filepath.Join(dir, "hard.csv")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	at := func(name string) string { return filepath.Join(dir, name) }
	in := []Input{{"--plan", plan}, {"--api-key-file", ""}}
	type o = Output
	for _, tc := range []struct {
		name string
		outs []Output
		in   []Input
		want error  // ErrClash, ErrExists or nil
		says string // a fragment of the error
	}{
		{"apart", []o{{Flag: "--report", Name: at("r.csv")}, {Flag: "--undo-plan", Name: at("u.csv")}, {Flag: "--termination-log", Name: at("t"), Kind: Overwritten}}, in, nil, ""},
		{"termination log is the plan", []o{{Flag: "--report", Name: at("r.csv")}, {Flag: "--termination-log", Name: plan, Kind: Overwritten}}, in, ErrClash, "--termination-log names the same file as --plan (" + plan + ")"},
		{"report is the plan: a clash, not an existing file", []o{{Flag: "--report", Name: plan}}, in, ErrClash, "--report names the same file as --plan"},
		{"spelt apart", []o{{Flag: "--termination-log", Name: dir + "/sub/../plan.csv", Kind: Overwritten}}, in, ErrClash, "--plan"},
		{"through a symlink", []o{{Flag: "--termination-log", Name: at("link.csv"), Kind: Overwritten}}, in, ErrClash, "--plan"},
		{"a hard link", []o{{Flag: "--log-file", Name: at("hard.csv"), Kind: Appended}}, in, ErrClash, "--plan"},
		{"relative and absolute", []o{{Flag: "--termination-log", Name: relativeTo(t, plan), Kind: Overwritten}}, in, ErrClash, "--plan"},
		{"two outputs, not there yet", []o{{Flag: "--report", Name: at("r.csv")}, {Flag: "--undo-plan", Name: at("u.csv")}, {Flag: "--termination-log", Name: dir + "/./u.csv", Kind: Overwritten}}, in, ErrClash, "--termination-log names the same file as --undo-plan"},
		{"a resume report", []o{{Flag: "--metrics-file", Name: at("hard.csv"), Kind: Replaced}}, []Input{{"--resume", at("hard.csv")}}, ErrClash, "--resume"},
		{"stdin and stdout", []o{{Flag: "--report", Name: "-"}}, []Input{{"--plan", "-"}}, nil, ""},
		{"two outputs on stdout", []o{{Flag: "--report", Name: "-"}, {Flag: "--summary", Name: "-"}}, in, ErrClash, "--report and --summary both write stdout"},
		{"devices", []o{{Flag: "--termination-log", Name: os.DevNull, Kind: Overwritten}, {Flag: "--log-file", Name: os.DevNull, Kind: Appended}}, []Input{{"--plan", os.DevNull}}, nil, ""},
		{"the default termination log is not checked", []o{{Flag: "--termination-log", Name: plan, Kind: Overwritten, Default: true}}, in, nil, ""},
		{"a new output that exists", []o{{Flag: "--report", Name: at("r.csv")}, {Flag: "--summary", Name: at("link.csv")}}, nil, ErrExists, "link.csv"},
		{"an appended output that exists", []o{{Flag: "--log-file", Name: at("link.csv"), Kind: Appended}}, nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := files(t, dir)
			outs := NewOutputs(io.Discard)
			for _, out := range tc.outs {
				outs.Add(out)
			}
			err := outs.Check(tc.in...)
			switch {
			case tc.want == nil && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("Check = %v, want %v", err, tc.want)
			case err != nil && !strings.Contains(err.Error(), tc.says):
				t.Errorf("Check = %v, want it to say %q", err, tc.says)
			}
			if !sameFiles(before, files(t, dir)) {
				t.Error("Check changed the files")
			}
		})
	}
}

// relativeTo is path relative to the working directory.
func relativeTo(t *testing.T, path string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// TestOutputsCreateAllOrNone: when one output cannot be created, none is left behind,
// and an existing file is never written over.
func TestOutputsCreateAllOrNone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	report := filepath.Join(dir, "r.csv")
	outs := NewOutputs(io.Discard)
	outs.Add(Output{Flag: "--report", Name: report})
	outs.Add(Output{Flag: "--undo-plan", Name: filepath.Join(dir, "missing", "u.csv")})
	if err := outs.Create(); err == nil {
		t.Fatal("an undo plan in a missing folder was created")
	}
	if _, err := os.Stat(report); err == nil {
		t.Error("the report was left behind though the undo plan could not be created")
	}
	if err := os.WriteFile(report, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	outs = NewOutputs(io.Discard)
	outs.Add(Output{Flag: "--report", Name: report})
	if err := outs.Create(); !errors.Is(err, ErrExists) {
		t.Errorf("over an existing file: %v, want ErrExists", err)
	}
	if b, _ := os.ReadFile(report); string(b) != "keep" {
		t.Errorf("an existing file was changed: %q", b)
	}
}

// TestOutputsLifecycle: what each kind of output holds after Finish, for a command that
// got to Keep, one that did not, and one whose Check found a clash.
func TestOutputsLifecycle(t *testing.T) {
	t.Parallel()
	end := func(w io.Writer, e *Ending) error {
		_, err := io.WriteString(w, "end "+e.Command+"\n")
		return err
	}
	for _, tc := range []struct {
		name              string
		kept, clash, rows bool              // rows: refused for its rows, the report kept alone
		want              map[string]string // every file after Finish
	}{
		{"kept", true, false, false, map[string]string{
			"report.csv": "row\n", "summary.json": "end run\n", "log": "old\nnew\nlater\n", "metrics": "end run\n", "termination-log": "end run\n"}},
		{"not kept", false, false, false, map[string]string{
			"log": "old\nnew\nlater\n", "metrics": "end run\n", "termination-log": "end run\n"}},
		{"refused for its rows: the report only", false, false, true, map[string]string{
			"report.csv": "row\n", "log": "old\nnew\nlater\n", "metrics": "end run\n", "termination-log": "end run\n"}},
		{"a clash", false, true, false, map[string]string{
			"log": "old\n", "metrics": "old\n", "termination-log": "old\n", "plan.csv": "plan\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, name := range []string{"log", "metrics", "termination-log"} {
				os.WriteFile(filepath.Join(dir, name), []byte("old\n"), 0o644)
			}
			at := func(name string) string { return filepath.Join(dir, name) }
			outs := NewOutputs(io.Discard)
			report := outs.Add(Output{Flag: "--report", Name: at("report.csv")})
			outs.Add(Output{Flag: "--summary", Name: at("summary.json"), End: end, Event: "summary_file"})
			logFile := outs.Add(Output{Flag: "--log-file", Name: at("log"), Kind: Appended})
			outs.Add(Output{Flag: "--metrics-file", Name: at("metrics"), Kind: Replaced, End: end, Event: "metrics_file"})
			outs.Add(Output{Flag: "--termination-log", Name: at("termination-log"), Kind: Overwritten, End: end, Event: "termination_log"})
			var in []Input
			if tc.clash {
				os.WriteFile(at("plan.csv"), []byte("plan\n"), 0o644)
				in = []Input{{"--plan", at("plan.csv")}}
				outs.Add(Output{Flag: "--html", Name: at("plan.csv")})
			}
			if err := outs.Check(in...); err != nil {
				if !tc.clash || !errors.Is(err, ErrClash) {
					t.Fatalf("Check = %v", err)
				}
				if err := outs.Create(); !errors.Is(err, ErrClash) {
					t.Errorf("Create after a clash = %v, want the clash", err)
				}
			} else {
				if err := outs.Create(); err != nil {
					t.Fatal(err)
				}
				io.WriteString(report, "row\n")
				io.WriteString(logFile, "new\n")
				if tc.kept {
					outs.Keep()
				}
				if tc.rows {
					outs.KeepOnly("--report")
				}
				if err := outs.Close(); err != nil {
					t.Fatal(err)
				}
				io.WriteString(logFile, "later\n") // a log is written to the end
			}
			var logs bytes.Buffer
			outs.Finish(&Ending{Command: "run"}, zerolog.New(&logs))
			want := map[string]string{}
			for name, content := range tc.want {
				want[at(name)] = content
			}
			if got := files(t, dir); !sameFiles(got, want) {
				t.Errorf("files after Finish:\n%q\nwant\n%q", got, want)
			}
			if logs.Len() > 0 {
				t.Errorf("logged %s", logs.String())
			}
		})
	}
}

// TestOutputsCloseReportsError: a file the run wrote that cannot be synced and closed is
// an error of the run, naming the file, not a silent loss.
func TestOutputsCloseReportsError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outs := NewOutputs(io.Discard)
	outs.Add(Output{Flag: "--report", Name: filepath.Join(dir, "r.csv")})
	undo := outs.Add(Output{Flag: "--undo-plan", Name: filepath.Join(dir, "u.csv")})
	if err := outs.Create(); err != nil {
		t.Fatal(err)
	}
	rec, err := NewRecorder(outs.Get("--report"), undo, "null", zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	undo.f.Close() // the undo plan's file fails underneath: its sync and close fail
	if err := errors.Join(rec.Close(), outs.Close()); err == nil || !strings.Contains(err.Error(), "u.csv") {
		t.Errorf("Close = %v, want the undo plan's error", err)
	}
}

// TestOutputsStdout: "-" outputs write to stdout, an End too, and nothing is removed.
func TestOutputsStdout(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	outs := NewOutputs(&stdout)
	report := outs.Add(Output{Flag: "--report", Name: "-"})
	if outs.Add(Output{Flag: "--undo-plan", Name: ""}) != nil || outs.Get("--undo-plan") != nil {
		t.Error("an output with no name was declared")
	}
	if err := outs.Check(Input{"--plan", "-"}); err != nil {
		t.Fatal(err)
	}
	if err := outs.Create(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(report, "row\n")
	outs.Keep()
	if err := outs.Close(); err != nil {
		t.Fatal(err)
	}
	outs.Finish(&Ending{Summary: &job.Summary{}}, zerolog.Nop())
	if stdout.String() != "row\n" {
		t.Errorf("stdout %q", stdout.String())
	}
}

// TestOutputsBegin: Begin opens the log file before anything else, so that the lines
// of a command refused later (a report that exists, a Create that fails) are in it; a
// clash opens nothing; the Ends written by WriteEnds come before the lines that follow
// them, and Finish writes them no second time.
func TestOutputsBegin(t *testing.T) {
	t.Parallel()
	end := func(w io.Writer, e *Ending) error {
		_, err := io.WriteString(w, "end\n")
		return err
	}
	t.Run("then refused", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		at := func(name string) string { return filepath.Join(dir, name) }
		os.WriteFile(at("report.csv"), []byte("earlier\n"), 0o644)
		outs := NewOutputs(io.Discard)
		outs.Add(Output{Flag: "--report", Name: at("report.csv")})
		logFile := outs.Add(Output{Flag: "--log-file", Name: at("log"), Kind: Appended})
		if err := outs.Check(); !errors.Is(err, ErrExists) {
			t.Fatalf("Check = %v, want ErrExists", err)
		}
		if err := outs.Begin(); err != nil {
			t.Fatal(err)
		}
		io.WriteString(logFile, "report exists\n")
		outs.Finish(&Ending{}, zerolog.Nop())
		want := map[string]string{at("report.csv"): "earlier\n", at("log"): "report exists\n"}
		if got := files(t, dir); !sameFiles(got, want) {
			t.Errorf("files:\n%q\nwant\n%q", got, want)
		}
	})
	t.Run("create fails", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		at := func(name string) string { return filepath.Join(dir, name) }
		outs := NewOutputs(io.Discard)
		outs.Add(Output{Flag: "--report", Name: at("report.csv")})
		logFile := outs.Add(Output{Flag: "--log-file", Name: at("log"), Kind: Appended})
		outs.Add(Output{Flag: "--undo-plan", Name: at("missing/undo.csv")})
		if err := outs.Check(); err != nil {
			t.Fatal(err)
		}
		if err := outs.Begin(); err != nil {
			t.Fatal(err)
		}
		io.WriteString(logFile, "start\n")
		if err := outs.Create(); err == nil {
			t.Fatal("an undo plan in a missing folder was created")
		}
		if _, err := io.WriteString(logFile, "fatal\n"); err != nil {
			t.Errorf("the log file was closed by a Create that failed: %v", err)
		}
		outs.Finish(&Ending{}, zerolog.Nop())
		if got, want := files(t, dir), map[string]string{at("log"): "start\nfatal\n"}; !sameFiles(got, want) {
			t.Errorf("files:\n%q\nwant\n%q", got, want)
		}
	})
	t.Run("a clash", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		outs := NewOutputs(io.Discard)
		outs.Add(Output{Flag: "--log-file", Name: filepath.Join(dir, "log"), Kind: Appended})
		outs.Add(Output{Flag: "--html", Name: filepath.Join(dir, "log")})
		if err := outs.Check(); !errors.Is(err, ErrClash) {
			t.Fatalf("Check = %v, want a clash", err)
		}
		if err := outs.Begin(); err != nil {
			t.Fatal(err)
		}
		outs.Finish(&Ending{}, zerolog.Nop())
		if got := files(t, dir); len(got) != 0 {
			t.Errorf("a clash left %q", got)
		}
	})
	t.Run("ends before the last lines", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		at := func(name string) string { return filepath.Join(dir, name) }
		outs := NewOutputs(io.Discard)
		logFile := outs.Add(Output{Flag: "--log-file", Name: at("log"), Kind: Appended})
		outs.Add(Output{Flag: "--metrics-file", Name: at("metrics"), Kind: Replaced, End: func(w io.Writer, e *Ending) error {
			io.WriteString(logFile, "metrics written\n")
			return end(w, e)
		}})
		if err := outs.Check(); err != nil {
			t.Fatal(err)
		}
		if err := outs.Begin(); err != nil {
			t.Fatal(err)
		}
		outs.WriteEnds(&Ending{}, zerolog.Nop())
		io.WriteString(logFile, "the end in words\n")
		outs.Finish(&Ending{}, zerolog.Nop())
		want := map[string]string{at("log"): "metrics written\nthe end in words\n", at("metrics"): "end\n"}
		if got := files(t, dir); !sameFiles(got, want) {
			t.Errorf("files:\n%q\nwant\n%q", got, want)
		}
	})
}
