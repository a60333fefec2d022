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
