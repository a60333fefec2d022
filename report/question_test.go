package report

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if IsTerminal(null) {
		t.Error("/dev/null is taken for a terminal")
	}
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is taken for a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a file is taken for a terminal")
	}
}

func TestAsk(t *testing.T) {
	t.Parallel()
	for answer, want := range map[string]bool{
		"y\n": true, "yes\n": true, " YES \r\n": true, "Y": true,
		"n\n": false, "\n": false, "": false, "yes please\n": false, "no\n": false, "oui\n": false,
	} {
		var out bytes.Buffer
		if got := Ask(context.Background(), strings.NewReader(answer), &out, "write 2 numbers"); got != want {
			t.Errorf("answer %q: %v, want %v", answer, got, want)
		}
		if out.String() != "write 2 numbers\nApply? [y/N] " {
			t.Errorf("prompt %q", out.String())
		}
	}

	// A signal before the question: no question, and no.
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if Ask(ctx, r, &out, "write 2 numbers") || out.Len() != 0 {
		t.Errorf("an ended context: yes, or a question put anyway: %q", out.String())
	}
	// A signal while the question waits for its answer (stdin never answers) is a no.
	ctx, cancel = context.WithCancel(context.Background())
	signalOnPrompt := writerFunc(func(p []byte) (int, error) { cancel(); return len(p), nil })
	if Ask(ctx, r, signalOnPrompt, "write 2 numbers") {
		t.Error("a signal at the question answered yes")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// fakeTTY is a terminal the test types into and reads from.
type fakeTTY struct {
	io.Reader
	bytes.Buffer // what was written on it
	closed       bool
}

func (f *fakeTTY) Write(p []byte) (int, error) { return f.Buffer.Write(p) }
func (f *fakeTTY) Read(p []byte) (int, error)  { return f.Reader.Read(p) }
func (f *fakeTTY) Close() error                { f.closed = true; return nil }

// TestQuestion: the question goes to the terminal the opener gives, not to stderr, and
// the answer comes from it, not from stdin; without a terminal, stderr and stdin serve.
func TestQuestion(t *testing.T) {
	t.Parallel()
	tty := &fakeTTY{Reader: strings.NewReader("y\n")}
	var stderr bytes.Buffer
	ask := Question(context.Background(), func() (io.ReadWriteCloser, error) { return tty, nil }, strings.NewReader("n\n"), &stderr)
	if !ask("write 2 numbers") {
		t.Error("the terminal's yes was not heard")
	}
	if tty.Buffer.String() != "write 2 numbers\nApply? [y/N] " || stderr.Len() != 0 {
		t.Errorf("on the terminal %q, on stderr %q", tty.Buffer.String(), stderr.String())
	}
	if !tty.closed {
		t.Error("the terminal was left open")
	}

	noTTY := func() (io.ReadWriteCloser, error) { return nil, os.ErrNotExist }
	ask = Question(context.Background(), noTTY, strings.NewReader("yes\n"), &stderr)
	if !ask("write 2 numbers") || stderr.String() != "write 2 numbers\nApply? [y/N] " {
		t.Errorf("without a terminal: asked %q on stderr, or the answer was lost", stderr.String())
	}
}
