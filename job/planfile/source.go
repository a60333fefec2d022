package planfile

import (
	"io"
	"os"
)

// Source returns how to open the plan named name: the file, or for "-" stdin, copied to
// a temporary file because a plan is read more than once (to validate every row before
// the first is sent, then to send). cleanup removes that copy. A plan that cannot be
// opened is an *Error.
func Source(name string, stdin io.Reader) (open func() (io.ReadCloser, error), cleanup func(), err error) {
	if name != "-" {
		if _, err := os.Stat(name); err != nil {
			return nil, nil, readErr(err)
		}
		return func() (io.ReadCloser, error) { return os.Open(name) }, func() {}, nil
	}
	f, err := os.CreateTemp("", "reassign-plan-*")
	if err != nil {
		return nil, nil, planErr(0, "keep the plan read from stdin: %v", err)
	}
	cleanup = func() { f.Close(); os.Remove(f.Name()) }
	if _, err := io.Copy(f, stdin); err != nil {
		cleanup()
		return nil, nil, readErr(err)
	}
	return func() (io.ReadCloser, error) { return os.Open(f.Name()) }, cleanup, nil
}
