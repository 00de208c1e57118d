//go:build unix && !race

package stream

import (
	"io"
	"net"
	"testing"
)

// TestRawWriteNoAllocs guards why a writer keeps one rawWriter: a
// closure made per write escaped to the heap, three allocations for
// every event delivered to every parked stream.
func TestRawWriteNoAllocs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, c); close(done) }()
	rc := rawConnOf(sc)
	w := newRawWriter()
	frame := []byte("id: 1\ndata: {}\n\n")
	if n := testing.AllocsPerRun(1000, func() { w.write(rc, frame) }); n != 0 {
		t.Errorf("a non-blocking write allocates %v times, want 0", n)
	}
	sc.Close()
	c.Close()
	<-done
}
