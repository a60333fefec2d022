package planfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxSpool bounds a plan read from stdin or a pipe, which is kept in a temporary file.
const MaxSpool = 1 << 30

// Source returns how to open the plan named name. A regular file is opened where it is;
// stdin ("-"), a named pipe or a device is first copied to a temporary file, because a
// plan is read more than once (to validate every row before the first is sent, then to
// send). cleanup removes that copy. A plan that cannot be opened or copied is an
// *Error; a copy that ctx ends (a pipe with no writer, a slow stdin) stops at once with
// ctx's error.
func Source(ctx context.Context, name string, stdin io.Reader) (open func() (io.ReadCloser, error), cleanup func(), err error) {
	if name != "-" {
		st, err := os.Stat(name)
		if err != nil {
			return nil, nil, readErr(err)
		}
		if st.Mode().IsRegular() {
			return func() (io.ReadCloser, error) { return os.Open(name) }, func() {}, nil
		}
	}
	f, err := os.CreateTemp("", "reassign-plan-*")
	if err != nil {
		return nil, nil, planErr(0, "keep the plan read from %s: %v", from(name), err)
	}
	cleanup = func() { f.Close(); os.Remove(f.Name()) }
	done := make(chan error, 1)
	go func() {
		// Opening a named pipe waits for a writer, and reading waits for its data: both
		// happen here, so that ctx can end the wait.
		in := stdin
		if name != "-" {
			pf, err := os.Open(name)
			if err != nil {
				done <- err
				return
			}
			defer pf.Close()
			in = pf
		}
		done <- spool(f, in)
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		cleanup()
		return nil, nil, fmt.Errorf("read plan from %s: %w", from(name), ctx.Err())
	}
	if err != nil {
		cleanup()
		var pe *Error
		if errors.As(err, &pe) {
			return nil, nil, err
		}
		return nil, nil, readErr(err)
	}
	return func() (io.ReadCloser, error) { return os.Open(f.Name()) }, cleanup, nil
}

func from(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}

// spool copies a plan to w: at most MaxSpool bytes, and, unless it is a workbook, no
// line longer than MaxRow (an endless stream such as /dev/zero is refused early).
func spool(w io.Writer, r io.Reader) error {
	buf := make([]byte, 64<<10)
	var total, lineLen int64
	line := 1
	workbook := false
	for {
		n, err := r.Read(buf)
		b := buf[:n]
		if total == 0 && n > 0 {
			workbook = bytes.HasPrefix(b, []byte("PK\x03\x04"))
		}
		total += int64(n)
		if total > MaxSpool {
			return planErr(0, "the plan read from a pipe is larger than %s, the most the job keeps of one", sizeText(MaxSpool))
		}
		for rest := b; !workbook; {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				lineLen += int64(len(rest))
				break
			}
			if lineLen += int64(i); lineLen > MaxRow {
				break
			}
			line, lineLen, rest = line+1, 0, rest[i+1:]
		}
		if lineLen > MaxRow {
			return planErr(line, "a row of more than %s, the most a plan row may hold (a quote left open, or not a plan?)", sizeText(MaxRow))
		}
		if _, werr := w.Write(buf[:n]); werr != nil {
			return werr
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
