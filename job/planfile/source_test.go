package planfile_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"reassign/job/planfile"
)

// TestSourceStopsWithContext: a plan that never comes (a named pipe with no writer, a
// stdin that sends nothing) is given up as soon as ctx ends, with ctx's error.
func TestSourceStopsWithContext(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "plan.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	stdin, w := io.Pipe()
	defer w.Close()
	for name, args := range map[string]struct {
		name  string
		stdin io.Reader
	}{"fifo with no writer": {fifo, nil}, "silent stdin": {"-", stdin}} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			type answer struct {
				open func() (io.ReadCloser, error)
				err  error
			}
			done := make(chan answer, 1)
			go func() {
				open, _, err := planfile.Source(ctx, args.name, args.stdin)
				done <- answer{open, err}
			}()
			cancel()
			select {
			case a := <-done:
				if !errors.Is(a.err, context.Canceled) || a.open != nil {
					t.Errorf("Source = %v, want context.Canceled", a.err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Source did not return once ctx ended")
			}
		})
	}
	// Release the goroutine still waiting on the pipe.
	if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
}

// TestSourceSpools: stdin and a named pipe are kept in a temporary file that can be read
// again, and removed by cleanup; an endless device is refused, not kept.
func TestSourceSpools(t *testing.T) {
	const plan = "id,nickname\np1,x\n"
	open, cleanup, err := planfile.Source(context.Background(), "-", strings.NewReader(plan))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		rc, err := open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != plan {
			t.Fatalf("read back %q", b)
		}
	}
	cleanup()
	if _, err := open(); err == nil {
		t.Error("the spooled plan is still there after cleanup")
	}

	fifo := filepath.Join(t.TempDir(), "plan.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	go func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.WriteString(plan)
			f.Close()
		}
	}()
	open, cleanup, err = planfile.Source(context.Background(), fifo, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	p := mustRead(t, open, planfile.Options{})
	if p.Rows != 1 {
		t.Errorf("a plan from a named pipe: %d rows", p.Rows)
	}

	if _, err := os.Stat("/dev/zero"); err == nil {
		_, _, err := planfile.Source(context.Background(), "/dev/zero", nil)
		var pe *planfile.Error
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "1.0 MiB") {
			t.Errorf("Source(/dev/zero) = %v, want a plan error naming the bound", err)
		}
	}
}
