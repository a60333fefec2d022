package dialnexa

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxKeyFile bounds what is read of a key file: a key is a few dozen bytes.
const MaxKeyFile = 4 << 10

// ReadKeyFile reads the key held in path (a Kubernetes secret volume), without the
// surrounding spaces and line end. A file of more than MaxKeyFile bytes is refused: it
// is not a key file.
func ReadKeyFile(path string) (Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read API key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxKeyFile+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("read API key file: %w", err)
	case len(b) > MaxKeyFile:
		return "", fmt.Errorf("the API key file %s holds more than %d bytes: it is not a key file", path, MaxKeyFile)
	}
	return Secret(strings.TrimSpace(string(b))), nil
}

// CheckKey refuses a key holding spaces or control characters: it would not survive an
// Authorization header.
func CheckKey(k Secret) error {
	if strings.ContainsFunc(string(k), func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return errors.New("the API key holds spaces or control characters; check the key file or variable")
	}
	return nil
}
