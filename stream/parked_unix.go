//go:build unix

package stream

import (
	"net"
	"syscall"
)

// rawConnOf returns conn's descriptor access when it has one, for writes
// that never block.
func rawConnOf(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// rawWriter writes what a socket takes now. The runtime keeps sockets
// in non-blocking mode, so a full socket buffer answers EAGAIN instead of
// waiting: the writer never blocks on one slow client, and no write
// deadline has to be moved. One per writer goroutine, reused: its
// callback is made once, so a write allocates nothing.
type rawWriter struct {
	b   []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

func newRawWriter() *rawWriter {
	w := &rawWriter{}
	w.fn = w.do
	return w
}

func (w *rawWriter) write(rc syscall.RawConn, b []byte) (int, error) {
	w.b, w.n, w.err = b, 0, nil
	err := rc.Write(w.fn)
	n, werr := w.n, w.err
	w.b, w.err = nil, nil
	if werr != nil {
		return n, werr
	}
	return n, err
}

func (w *rawWriter) do(fd uintptr) bool {
	for w.n < len(w.b) {
		m, err := syscall.Write(int(fd), w.b[w.n:])
		if m > 0 {
			w.n += m
		}
		switch err {
		case nil:
			if m <= 0 {
				return true
			}
		case syscall.EINTR:
		case syscall.EAGAIN:
			return true
		default:
			w.err = err
			return true
		}
	}
	return true
}

// peekEOF reports whether the peer has closed its side (or the connection
// failed), without taking any byte off the connection.
func peekEOF(rc syscall.RawConn) bool {
	var eof bool
	var one [1]byte
	err := rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		for err == syscall.EINTR {
			n, _, err = syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		}
		switch {
		case err == syscall.EAGAIN:
		case err != nil || n == 0:
			eof = true
		}
		return true
	})
	return eof || err != nil
}
