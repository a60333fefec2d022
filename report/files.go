package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrExists is the error of an output that would overwrite a file: the job never does.
var ErrExists = errors.New("already exists; it is never overwritten (choose another name)")

// Output is a file the run writes, or stdout for the name "-". A file is created new
// (never over an existing one) and synced to disk when closed.
type Output struct {
	Name   string
	w      io.Writer
	f      *os.File // nil for stdout
	closed bool
}

// CreateOutputs creates every named output, or none: when one cannot be created, those
// already created are removed again. An empty name is skipped (its Output is nil).
func CreateOutputs(stdout io.Writer, names ...string) ([]*Output, error) {
	outs := make([]*Output, len(names))
	for i, name := range names {
		var err error
		if outs[i], err = createOutput(stdout, name); err != nil {
			for _, o := range outs[:i] {
				o.Remove()
			}
			return nil, err
		}
	}
	return outs, nil
}

func createOutput(stdout io.Writer, name string) (*Output, error) {
	switch name {
	case "":
		return nil, nil
	case "-":
		return &Output{Name: name, w: stdout}, nil
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, &os.PathError{Op: "create", Path: name, Err: ErrExists}
	}
	if err != nil {
		return nil, err
	}
	return &Output{Name: name, w: f, f: f}, nil
}

// CheckOutputs reports the first named output that exists already, before anything is
// read or sent; CreateOutputs still refuses one that appears in the meantime.
func CheckOutputs(names ...string) error {
	for _, name := range names {
		if name == "" || name == "-" {
			continue
		}
		if _, err := os.Lstat(name); err == nil {
			return &os.PathError{Op: "create", Path: name, Err: ErrExists}
		}
	}
	return nil
}

// SameFile reports whether two output names are the same file (or both stdout).
func SameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == "-" || b == "-" {
		return a == b
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

func (o *Output) Write(p []byte) (int, error) { return o.w.Write(p) }

// Sync pushes what was written to the disk (nothing for stdout).
func (o *Output) Sync() error {
	if o.f == nil {
		return nil
	}
	return o.f.Sync()
}

// Close syncs a file to disk and closes it; a second Close does nothing.
func (o *Output) Close() error {
	if o == nil || o.closed || o.f == nil {
		return nil
	}
	o.closed = true
	err := o.f.Sync()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", o.Name, err)
	}
	return nil
}

// Remove closes a file and deletes it: the run ended before it recorded anything.
func (o *Output) Remove() {
	if o == nil || o.f == nil {
		return
	}
	if !o.closed {
		o.closed = true
		o.f.Close()
	}
	os.Remove(o.Name)
}
