package main

// Tests of tidings tail against the built binary.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidings/tidings/client"
)

// tailProc is a running tidings tail.
type tailProc struct {
	cmd    *exec.Cmd
	lines  chan string   // standard output, line by line
	read   chan struct{} // closed once standard output is read to its end
	stderr *bytes.Buffer // read it once tail has exited
	waited bool
}

// startTail runs bin tail with args and an empty environment; it is killed
// at the end of the test unless interrupt ended it.
func startTail(t *testing.T, bin string, args ...string) *tailProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"tail"}, args...)...)
	cmd.Env = []string{}
	tp := &tailProc{cmd: cmd, lines: make(chan string, 1024), read: make(chan struct{}), stderr: &bytes.Buffer{}}
	cmd.Stderr = tp.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(tp.read)
		defer close(tp.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			tp.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if !tp.waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return tp
}

// interrupt stops tail as Ctrl-C does and returns how it exited; tail is
// killed if it has not ended its output within waitFor.
func (tp *tailProc) interrupt(t *testing.T) error {
	t.Helper()
	tp.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-tp.read:
	case <-time.After(waitFor):
		tp.cmd.Process.Kill()
	}
	tp.waited = true
	return tp.cmd.Wait()
}

// The cursor tail suggests on stopping is one it takes, "now" included.
func TestTailCursorNow(t *testing.T) {
	t.Parallel()
	// A stream whose client left is noticed at its next write: a short
	// heartbeat lets the server count the interrupted tail gone quickly.
	p := startServer(t, filepath.Join(t.TempDir(), "t.db"), "TIDINGS_HEARTBEAT=200ms")
	run := func(args ...string) string {
		t.Helper()
		tail := startTail(t, binary, append([]string{"--url", p.URL, "t"}, args...)...)
		// Once the server counts the stream, tail is following.
		p.waitMetric(t, `tidings_subscribers{transport="sse"} 1`)
		if err := tail.interrupt(t); err != nil {
			t.Fatalf("tail %q: %v; stderr:\n%s", args, err, tail.stderr)
		}
		p.waitMetric(t, `tidings_subscribers{transport="sse"} 0`)
		return tail.stderr.String()
	}
	first := run()
	m := regexp.MustCompile(`resume with --cursor (\S+)`).FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("tail stderr %q: want a resume hint", first)
	}
	run("--cursor", m[1])
	// Stopped before its first block, the hint is "now": tail takes it.
	run("--cursor", "now")
}

// tidings tail follows a topic while the server (the built binary) is
// stopped and started again on the same database and address, and a
// publisher keeps publishing with idempotency keys: tail prints every
// acknowledged event exactly once, in order.
func TestTailAcrossServerRestart(t *testing.T) {
	t.Parallel()
	bin := binary
	for _, how := range []string{"sigterm", "sigkill"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "tidings.db")
			env := func(addr string) []string {
				return []string{
					"TIDINGS_DB=" + db,
					"TIDINGS_ADDR=" + addr,
					"TIDINGS_SSE_MAX_DURATION=300ms",
					"TIDINGS_SSE_RETRY=50ms",
					"TIDINGS_SHUTDOWN_TIMEOUT=5s",
				}
			}
			srv := startProc(t, bin, env("127.0.0.1:0"))
			url := srv.URL

			tail := startTail(t, bin, "t", "--cursor", "0", "--url", url)

			c, err := client.New(url, client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			var got []int64
			deadline := time.After(60 * time.Second)
			// readUntil reads what tail prints until it has printed id last.
			readUntil := func(last int64) {
				t.Helper()
				for len(got) == 0 || got[len(got)-1] < last {
					select {
					case line, ok := <-tail.lines:
						if !ok {
							t.Fatalf("tail exited after %d events: %s", len(got), tail.stderr)
						}
						var ev client.Event
						if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Topic != "t" {
							t.Fatalf("tail printed %q: want an event object of topic t", line)
						}
						got = append(got, ev.ID)
					case <-deadline:
						t.Fatalf("timed out: tail printed %d events, want up to id %d", len(got), last)
					}
				}
			}

			const total, restartAt = 120, 50
			var acked []int64
			for i := range total {
				if i == restartAt {
					// tail is following when the server goes away.
					readUntil(acked[len(acked)-1])
					if how == "sigterm" {
						srv.stopCleanly(t)
					} else {
						srv.cmd.Process.Kill()
						srv.wait(t, waitFor)
					}
					srv = startProc(t, bin, env(srv.addr))
				}
				acked = append(acked, publishUntilAcked(t, ctx, c, i))
			}
			readUntil(acked[len(acked)-1])
			if !slices.Equal(got, acked) {
				t.Errorf("tail printed ids %v,\nwant the acknowledged %v", got, acked)
			}

			if err := tail.interrupt(t); err != nil {
				t.Errorf("tail after SIGINT: %v, want exit status 0; stderr:\n%s", err, tail.stderr)
			}
			stderr := tail.stderr.String()
			if how == "sigkill" && !strings.Contains(stderr, "reconnecting") {
				t.Errorf("tail stderr %q: want a line about reconnecting", stderr)
			}
			if want := fmt.Sprintf("resume with --cursor %d", acked[len(acked)-1]); !strings.Contains(stderr, want) {
				t.Errorf("tail stderr %q: want %q", stderr, want)
			}
			for line := range tail.lines {
				t.Errorf("tail printed more after the last event: %q", line)
			}
		})
	}
}

// publishUntilAcked publishes event i with an idempotency key, retrying
// while the server restarts, and returns the acknowledged id.
func publishUntilAcked(t *testing.T, ctx context.Context, c *client.Client, i int) int64 {
	t.Helper()
	for {
		p, err := c.Publish(ctx, "t", i, client.PublishOptions{Key: fmt.Sprint("event-", i)})
		if err == nil {
			return p.ID
		}
		if ctx.Err() != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		time.Sleep(20 * time.Millisecond) // the server is restarting: retry
	}
}
