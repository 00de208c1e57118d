package linewriter

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an output that counts its writes.
type recorder struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	gate   chan struct{} // when set, each write waits for a receive
	began  chan struct{} // when set, each write sends on it first
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.began != nil {
		r.began <- struct{}{}
	}
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	return r.buf.Write(p)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// Lines from many goroutines all arrive, whole, each goroutine's in order.
func TestEveryLineWholeAndInOrder(t *testing.T) {
	out := &recorder{}
	w := New(out)
	const writers, lines = 16, 2000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(w, "g%d line %d %s\n", g, i, strings.Repeat("x", i%97))
			}
		}()
	}
	wg.Wait()
	w.Close()

	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines written, want %d", len(got), writers*lines)
	}
	for _, l := range got {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(l, "g%d line %d %s", &g, &i, &pad); err != nil && i%97 != 0 {
			t.Fatalf("line %q is not whole: %v", l, err)
		}
		if i != next[g] || len(pad) != i%97 {
			t.Fatalf("line %q: want line %d of g%d with %d x", l, next[g], g, next[g]%97)
		}
		next[g]++
	}
}

// A line that arrives when nothing is being written is written at once by
// its caller; lines that arrive while a write is under way are written
// together by the next write.
func TestLinesFoldWhileWriting(t *testing.T) {
	out := &recorder{gate: make(chan struct{}), began: make(chan struct{}, 2)}
	w := New(out)
	first := make(chan struct{})
	go func() {
		fmt.Fprintln(w, "first")
		close(first)
	}()
	<-out.began
	// The first Write is blocked in its write; these queue and return.
	for i := range 100 {
		fmt.Fprintln(w, "then", i)
	}
	close(out.gate)
	<-first
	w.Close()
	if out.writes != 2 {
		t.Errorf("%d writes for 101 lines queued behind one write, want 2", out.writes)
	}
	if got := out.String(); !strings.HasPrefix(got, "first\nthen 0\n") || strings.Count(got, "\n") != 101 {
		t.Errorf("written %q, want first then 100 lines", got)
	}
}

// An idle writer's line is written before its Write returns.
func TestIdleLineWrittenAtOnce(t *testing.T) {
	out := &recorder{}
	w := New(out)
	defer w.Close()
	fmt.Fprintln(w, "alone")
	if got := out.String(); got != "alone\n" {
		t.Fatalf("written %q when Write returned, want the line", got)
	}
}

// A reader that stops reading holds back writers once MaxPending bytes
// wait, and lets them go when it reads again.
func TestBackPressure(t *testing.T) {
	out := &recorder{gate: make(chan struct{}), began: make(chan struct{}, 1<<20)}
	w := New(out)
	line := []byte(strings.Repeat("y", 1023) + "\n")
	go w.Write(line) // blocks in the write
	<-out.began
	wrote := make(chan int)
	go func() {
		n := 0
		for n < 2*MaxPending/len(line) {
			w.Write(line)
			n++
		}
		wrote <- n
	}()
	select {
	case n := <-wrote:
		t.Fatalf("%d lines queued behind a stuck write; at most %d bytes should wait", n, MaxPending)
	case <-time.After(100 * time.Millisecond):
	}
	close(out.gate)
	<-wrote
	w.Close()
	if want := (2*MaxPending/len(line) + 1) * len(line); len(out.String()) != want {
		t.Errorf("%d bytes written, want %d", len(out.String()), want)
	}
}

// Close writes what is pending, after a write under way; later lines are
// written directly, after it.
func TestCloseFlushesThenWritesDirectly(t *testing.T) {
	out := &recorder{gate: make(chan struct{}), began: make(chan struct{}, 8)}
	w := New(out)
	go fmt.Fprintln(w, "1")
	<-out.began
	fmt.Fprintln(w, "2")
	closed := make(chan struct{})
	go func() {
		w.Close()
		close(closed)
	}()
	close(out.gate)
	<-closed
	fmt.Fprintln(w, "3")
	w.Close()
	if got := out.String(); got != "1\n2\n3\n" {
		t.Errorf("written %q, want 1 2 3 in order", got)
	}
}
