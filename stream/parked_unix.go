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

// writeNonBlocking writes what the socket takes now. The runtime keeps
// sockets in non-blocking mode, so a full socket buffer answers EAGAIN
// instead of waiting: the writer never blocks on one slow client, and no
// write deadline has to be moved.
func writeNonBlocking(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := syscall.Write(int(fd), b[n:])
			if m > 0 {
				n += m
			}
			switch err {
			case nil:
				if m <= 0 {
					return true
				}
				continue
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return true
			default:
				werr = err
				return true
			}
		}
		return true
	})
	if werr != nil {
		return n, werr
	}
	return n, err
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
