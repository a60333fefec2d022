package report

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Bar is a one-line progress bar for a terminal. It is also the io.Writer the console
// logs go through, so that a log line never lands in the middle of the bar: the bar is
// wiped, the line written, and the bar drawn again below it.
type Bar struct {
	mu   sync.Mutex
	w    io.Writer
	line string
}

// NewBar returns a bar drawing on w, a terminal.
func NewBar(w io.Writer) *Bar { return &Bar{w: w} }

func (b *Bar) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.line != "" {
		io.WriteString(b.w, "\r\033[K")
	}
	n, err := b.w.Write(p)
	if b.line != "" {
		io.WriteString(b.w, b.line)
	}
	return n, err
}

// Update draws done of total rows (total < 0: unknown) at the given pace.
func (b *Bar) Update(done, total int, elapsed time.Duration, failed int) {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	var line string
	if total > 0 {
		const width = 30
		filled := min(width, done*width/total)
		eta := "?"
		if rate > 0 {
			eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
		}
		line = fmt.Sprintf("[%s%s] %d/%d rows  %.1f/s  ETA %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, rate, eta)
	} else {
		line = fmt.Sprintf("%d rows  %.1f/s", done, rate)
	}
	if failed > 0 {
		line += fmt.Sprintf("  %d not applied", failed)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.line = line
	io.WriteString(b.w, "\r\033[K"+line)
}

// Clear removes the bar, leaving the cursor at the start of an empty line. A nil Bar
// (no terminal) has nothing to clear.
func (b *Bar) Clear() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.line != "" {
		io.WriteString(b.w, "\r\033[K")
		b.line = ""
	}
}
