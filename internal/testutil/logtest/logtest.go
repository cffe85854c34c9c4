// Package logtest captures what a component logs, for tests that assert on
// log lines (a secret must never appear in them, an error must be logged).
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is a goroutine-safe log sink: handlers write from request and job
// goroutines while the test reads.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
