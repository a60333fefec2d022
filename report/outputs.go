package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"
)

// ErrExists is the error of an output that would overwrite a file: the job never does.
var ErrExists = errors.New("already exists; it is never overwritten (choose another name)")

// ErrClash is the error of an output that names a file the command reads or another
// output writes.
var ErrClash = errors.New("an output never writes over the plan, a report --resume reads, the key file or another output; give each output a file of its own")

// Kind is how an output is written. It decides what Check refuses, what Create opens,
// what an end before Keep leaves, and how Finish writes an output's End.
type Kind int

const (
	// New is created by Create, never over an existing file (ErrExists), and removed
	// again by Finish when the command ends before Keep: a file of nothing would only
	// block the rerun. The report, the undo plan, the summary, an export.
	New Kind = iota
	// Appended is opened by Create to add to what it holds (created if missing) and is
	// kept whatever happens: a log file.
	Appended
	// Replaced is written whole by Finish, beside its name, then renamed over it, so
	// that a reader sees the old file or the new one, never half of one: a metrics file
	// for node exporter's textfile collector, a saved workspace.
	Replaced
	// Overwritten is written whole by Finish over what the file held: a Kubernetes
	// termination log, which the kubelet makes (a file or a device) for the container.
	Overwritten
)

// Output is one file a command writes, or stdout for the name "-". It is declared with
// Outputs.Add; once created it is the io.Writer of what is written as the run goes.
type Output struct {
	Flag string // the flag that names it ("--report"), for messages
	Name string // the file; "-" is stdout
	Kind Kind
	// Default says no flag named the file (the termination log where Kubernetes puts
	// it): it is not checked against the other files.
	Default bool
	// End, if set, writes the output's content when the command ends (Finish), from
	// what the Ending holds. A New output with an End is created with the others (its
	// name is taken) and written only when the run kept its files.
	End func(w io.Writer, e *Ending) error
	// Event names the log event of an End that could not be written.
	Event string

	w       io.Writer
	f       *os.File // nil for stdout, and while not open
	created bool     // by Create: a New file to remove if the run is not kept
	kept    bool     // by KeepOnly: stays, though the run is not kept
}

func (o *Output) Write(p []byte) (int, error) { return o.w.Write(p) }

// Sync pushes what was written to the disk (nothing for stdout).
func (o *Output) Sync() error {
	if o.f == nil {
		return nil
	}
	return o.f.Sync()
}

// close syncs a regular file to disk (a device may not sync) and closes it; a second
// close does nothing.
func (o *Output) close() error {
	if o.f == nil {
		return nil
	}
	f := o.f
	o.f = nil
	var err error
	if st, serr := f.Stat(); serr == nil && st.Mode().IsRegular() {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", o.Name, err)
	}
	return nil
}

// Input is a file the command reads, which no output may name: the plan, each report
// --resume reads, the key file.
type Input struct {
	Flag, Name string // Name "" is no file; "-" is stdin
}

// Outputs owns the files a command writes, through one lifecycle, as os/exec.Cmd owns
// its pipes:
//
//	Add…    declared: each output once, in the order messages name them
//	Check   checked: no output names an input or another output (ErrClash: refused, and
//	        Finish writes nothing at all); no New output exists (ErrExists). No file is
//	        touched.
//	Begin   begun (optional): every Appended output (a log file) is opened early, so
//	        that it holds the command's first lines; after a clash, none is.
//	Create  created: every New and Appended output not yet open is opened, or none is
//	        (those opened are removed again).
//	Keep    kept: the run got to its rows (or the export finished); its files stay,
//	        whatever happens next. KeepOnly keeps one file of a run that is not kept
//	        (the report of a plan refused for its rows, which lists them).
//	Close   the run's record (the New outputs written as it goes: report, undo plan) is
//	        synced and closed; the error says whether it holds what was written.
//	WriteEnds  (optional, once) every End is written (a New output's only when kept):
//	        the caller may log what follows them (the end in words) before Finish.
//	Finish  ended: the Ends are written unless WriteEnds has, then every file is
//	        closed (an Appended log last of all, after the lines about the Ends) and
//	        the New files of a command that was not kept are removed.
//
// Finish may follow any step, once, and is how every command ends: a failed Check or
// Create, an early return and a finished run alike. Outputs is not safe for concurrent
// use; the outputs themselves are written by whoever writes them.
type Outputs struct {
	stdout  io.Writer
	list    []*Output
	refused error // the clash Check found
	kept    bool
	ended   bool // the Ends are written
}

// NewOutputs returns an owner with no outputs yet; "-" names stdout.
func NewOutputs(stdout io.Writer) *Outputs { return &Outputs{stdout: stdout} }

// Add declares an output: adding an output flag is one Add. An output with no name is
// no output: Add returns nil.
func (o *Outputs) Add(out Output) *Output {
	if out.Name == "" {
		return nil
	}
	p := &out
	o.list = append(o.list, p)
	return p
}

// Get is the output flag names, or nil when the command has none.
func (o *Outputs) Get(flag string) *Output {
	for _, out := range o.list {
		if out.Flag == flag {
			return out
		}
	}
	return nil
}

// Check refuses outputs that would write over a file the command reads or another
// output (ErrClash), and a New output that exists already (ErrExists), before
// anything is read or sent. Names are the same file when os.SameFile says so, or,
// where a file does not exist yet, when their absolute paths are. "-" and character
// devices never clash, except that two outputs cannot share stdout.
func (o *Outputs) Check(inputs ...Input) error {
	var seen []named
	for _, in := range inputs {
		if in.Name != "" && in.Name != "-" {
			seen = append(seen, named{in.Flag, in.Name, identify(in.Name)})
		}
	}
	stdout := ""
	for _, out := range o.list {
		if out.Name == "-" {
			if stdout != "" {
				o.refused = fmt.Errorf("%s and %s both write stdout (-): %w", stdout, out.Flag, ErrClash)
				return o.refused
			}
			stdout = out.Flag
			continue
		}
		if out.Default {
			continue
		}
		id := identify(out.Name)
		if id.device {
			continue
		}
		for _, s := range seen {
			if !s.id.device && id.same(s.id) {
				o.refused = fmt.Errorf("%s names the same file as %s (%s): %w", out.Flag, s.flag, out.Name, ErrClash)
				return o.refused
			}
		}
		seen = append(seen, named{out.Flag, out.Name, id})
	}
	for _, out := range o.list {
		if out.Kind != New || out.Name == "-" {
			continue
		}
		if _, err := os.Lstat(out.Name); err == nil {
			return &os.PathError{Op: "create", Path: out.Name, Err: ErrExists}
		}
	}
	return nil
}

// named is a file Check has seen, and the flag that named it.
type named struct {
	flag, name string
	id         fileID
}

// fileID is what Check compares: the file when it exists, else the cleaned absolute
// path it would be created at.
type fileID struct {
	info   os.FileInfo
	path   string
	device bool // a character device: /dev/null, /dev/stdout on a terminal
}

func identify(name string) fileID {
	if info, err := os.Stat(name); err == nil {
		return fileID{info: info, device: info.Mode()&os.ModeCharDevice != 0}
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = filepath.Clean(name)
	}
	return fileID{path: abs}
}

func (a fileID) same(b fileID) bool {
	switch {
	case a.info != nil && b.info != nil:
		return os.SameFile(a.info, b.info)
	case a.info == nil && b.info == nil:
		return a.path == b.path
	}
	return false // one exists and the other does not yet
}

// Begin opens every Appended output (a log file, added to, created if missing) as
// soon as Check has run, so that it holds the command's first lines; after a clash it
// opens none. An output that cannot be opened is the error: the others stay open, for
// Finish to close.
func (o *Outputs) Begin() error {
	if o.refused != nil {
		return nil
	}
	for _, out := range o.list {
		if out.Kind == Appended && out.w == nil {
			if err := o.open(out); err != nil {
				return err
			}
		}
	}
	return nil
}

// Create opens every New output (created new, never over a file) and every Appended
// one not yet open, or none: when one cannot be opened, those already created are
// removed again. Replaced and Overwritten outputs are opened only by Finish.
func (o *Outputs) Create() error {
	if o.refused != nil {
		return o.refused
	}
	for i, out := range o.list {
		if out.w != nil {
			continue // opened by Begin
		}
		if err := o.open(out); err != nil {
			for _, done := range o.list[:i] {
				if done.Kind == New { // an Appended log stays open for the lines about it
					done.close()
					done.remove()
				}
			}
			return err
		}
	}
	return nil
}

func (o *Outputs) open(out *Output) error {
	if out.Kind != New && out.Kind != Appended {
		return nil
	}
	if out.Name == "-" {
		out.w = o.stdout
		return nil
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if out.Kind == Appended {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(out.Name, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return &os.PathError{Op: "create", Path: out.Name, Err: ErrExists}
	}
	if err != nil {
		return err
	}
	out.w, out.f, out.created = f, f, out.Kind == New
	return nil
}

// remove deletes a New file Create made.
func (out *Output) remove() {
	if out.created {
		out.created = false
		os.Remove(out.Name)
	}
}

// Keep says the run got to its rows (or the export finished): its files stay, whatever
// happens next.
func (o *Outputs) Keep() { o.kept = true }

// KeepOnly keeps the file flag names, though the run is not kept: a plan refused for
// its rows keeps its report, which lists every row and why, and no other file (its
// End, if it has one, is not written).
func (o *Outputs) KeepOnly(flag string) {
	if out := o.Get(flag); out != nil {
		out.kept = true
	}
}

// Close syncs and closes the run's record: the New outputs written as the run goes
// (those without an End). Its error, naming each file, says the record may be
// incomplete. An Appended output stays open for the lines still to come.
func (o *Outputs) Close() error {
	var errs []error
	for _, out := range o.list {
		if out.Kind == New && out.End == nil {
			errs = append(errs, out.close())
		}
	}
	return errors.Join(errs...)
}

// Finish ends the command: it writes every output's End from e, unless WriteEnds has,
// closes what is open, and removes the New files of a command that was not kept.
// After a clash it writes nothing at all.
func (o *Outputs) Finish(e *Ending, log zerolog.Logger) {
	if o.refused != nil {
		return
	}
	o.WriteEnds(e, log)
	for _, out := range o.list {
		out.close()
		if !o.kept && !out.kept {
			out.remove()
		}
	}
}

// WriteEnds writes every output's End from e (a New output's only when kept; none at
// all after a clash), once: a second call does nothing. An End that cannot be written
// is logged as its Event, naming the exit code it leaves alone: what the run did stands.
func (o *Outputs) WriteEnds(e *Ending, log zerolog.Logger) {
	if o.refused != nil || o.ended {
		return
	}
	o.ended = true
	for _, out := range o.list {
		if out.End == nil || (!o.kept && out.Kind == New) {
			continue
		}
		if err := o.writeEnd(out, e); err != nil {
			ev := log.Warn()
			if out.Kind == New {
				ev = log.Error() // a file asked for by name
			}
			ev.Str("event", out.Event).Str("error", err.Error()).Int("exit_code", e.ExitCode).
				Msgf("could not write %s %s; the exit code stays %d", out.Flag, out.Name, e.ExitCode)
		}
	}
}

// writeEnd writes out's End as its kind says.
func (o *Outputs) writeEnd(out *Output, e *Ending) error {
	switch {
	case out.Name == "-":
		return out.End(o.stdout, e)
	case out.Kind == Replaced:
		return replace(out.Name, func(w io.Writer) error { return out.End(w, e) })
	case out.Kind == Overwritten:
		f, err := os.OpenFile(out.Name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		out.f = f
	}
	if out.f == nil {
		return nil // a New or Appended output Create did not get to
	}
	if err := out.End(out.f, e); err != nil {
		out.close()
		return fmt.Errorf("write %s: %w", out.Name, err)
	}
	return out.close()
}

// replace writes a file whole: beside name, synced, then renamed over it.
func replace(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // nothing is left there after the rename
	err = write(tmp)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
