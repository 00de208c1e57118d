//go:build !unix

package stream

import (
	"errors"
	"net"
	"syscall"
)

// Without unix sockets, every parked write takes the short-deadline path.

func rawConnOf(net.Conn) syscall.RawConn { return nil }

type rawWriter struct{}

func newRawWriter() *rawWriter { return &rawWriter{} }

func (*rawWriter) write(syscall.RawConn, []byte) (int, error) {
	return 0, errors.New("no non-blocking writes on this platform")
}

func peekEOF(syscall.RawConn) bool { return false }
