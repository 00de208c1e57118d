package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidings/tidings/client"
)

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

			tail := exec.Command(bin, "tail", "t", "--cursor", "0", "--url", url)
			tail.Env = []string{}
			var stderr bytes.Buffer
			tail.Stderr = &stderr
			stdout, err := tail.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := tail.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 1024)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			tailDone := false
			defer func() {
				if !tailDone {
					tail.Process.Kill()
					tail.Wait()
				}
			}()

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
					case line, ok := <-lines:
						if !ok {
							t.Fatalf("tail exited after %d events: %s", len(got), stderr.String())
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
						if code := srv.stop(t, syscall.SIGTERM, waitFor); code != 0 {
							t.Errorf("server exit status after SIGTERM: got %d, want 0", code)
						}
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

			tail.Process.Signal(syscall.SIGINT)
			err = tail.Wait()
			tailDone = true
			if err != nil {
				t.Errorf("tail after SIGINT: %v, want exit status 0; stderr:\n%s", err, stderr.String())
			}
			if how == "sigkill" && !strings.Contains(stderr.String(), "reconnecting") {
				t.Errorf("tail stderr %q: want a line about reconnecting", stderr.String())
			}
			if want := fmt.Sprintf("resume with --cursor %d", acked[len(acked)-1]); !strings.Contains(stderr.String(), want) {
				t.Errorf("tail stderr %q: want %q", stderr.String(), want)
			}
			for line := range lines {
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
