package report

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
)

// IsTerminal reports whether stdin, stdout or stderr is a terminal (not a file, a pipe
// or /dev/null).
func IsTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// OpenTTY opens the controlling terminal, /dev/tty: the person who started the command
// is there even when stderr goes to a file or a pipe (2>&1 | tee run.log).
func OpenTTY() (io.ReadWriteCloser, error) { return os.OpenFile("/dev/tty", os.O_RDWR, 0) }

// Question returns how the question before the first write is put: on the terminal
// open returns (OpenTTY; injected so that tests can drive it), closed again once
// answered; when none can be opened (a process without a controlling terminal), by
// writing on out and reading in (stderr and stdin). Each call asks once, as Ask does.
func Question(ctx context.Context, open func() (io.ReadWriteCloser, error), in io.Reader, out io.Writer) func(about string) bool {
	return func(about string) bool {
		tty, err := open()
		if err != nil {
			return Ask(ctx, in, out, about)
		}
		// Closing it also ends the read Ask leaves behind after a signal.
		defer tty.Close()
		return Ask(ctx, tty, tty, about)
	}
}

// Ask puts the question before the first write of a run a person watches: it prints
// about (what the run is about to do) and "Apply? [y/N] " on out, and reads one line
// from in. Only y or yes (any case) is yes; anything else, the end of in, or ctx ending
// first (a signal) is no.
func Ask(ctx context.Context, in io.Reader, out io.Writer, about string) bool {
	if ctx.Err() != nil {
		return false // a signal came first: no question to put
	}
	fmt.Fprintf(out, "%s\nApply? [y/N] ", about)
	answer := make(chan string, 1)
	go func() { // a read of a terminal cannot be cancelled: it is left behind on a signal
		line, _ := bufio.NewReader(in).ReadString('\n')
		answer <- line
	}()
	select {
	case a := <-answer:
		a = strings.ToLower(strings.TrimSpace(a))
		return a == "y" || a == "yes"
	case <-ctx.Done():
		fmt.Fprintln(out)
		return false
	}
}
