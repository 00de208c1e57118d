package main

// Tests of the running server: restarts, crashes, graceful shutdown and
// health, against the binary TestMain builds.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRestartKeepsHistoryAndIDs(t *testing.T) {
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "t.db"))
	var before []int64
	for i := range 20 {
		before = append(before, p.mustPublish(t, []string{"a", "b"}[i%2], fmt.Sprintf(`{"i":%d}`, i)))
	}
	p.stopCleanly(t)

	p = p.restart(t)
	got := p.all(t, "a,b")
	if len(got) != len(before) {
		t.Fatalf("after restart: got %d events, want %d", len(got), len(before))
	}
	for i, e := range got {
		if e.ID != before[i] || string(e.Data) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Errorf("event %d: got id %d data %s, want id %d data {\"i\":%d}", i, e.ID, e.Data, before[i], i)
		}
	}
	if next := p.mustPublish(t, "c", `1`); next <= before[len(before)-1] {
		t.Errorf("first id after restart: got %d, want more than %d", next, before[len(before)-1])
	}
}

// TestSIGKILLKeepsAcknowledged kills the process while 16 publishers
// hammer it: every publish answered 2xx must be there after a restart.
func TestSIGKILLKeepsAcknowledged(t *testing.T) {
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "t.db"), "TIDINGS_PUBLISH_RATE=0")

	const publishers = 16
	topics := []string{"k0", "k1", "k2", "k3"}
	var mu sync.Mutex
	acked := map[int64]string{} // id → data
	ackCount := make(chan struct{}, 1<<16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for g := range publishers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				data := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
				id, _, err := p.publish(ctx, topics[(g+i)%len(topics)], data)
				if err != nil {
					select {
					case <-p.exited:
						return
					default:
						continue // e.g. 429: not acknowledged, try again
					}
				}
				mu.Lock()
				acked[id] = data
				mu.Unlock()
				select {
				case ackCount <- struct{}{}:
				default:
				}
			}
		})
	}
	// Kill at a random moment: after a random number of acknowledgements.
	killAfter := 200 + rand.IntN(800)
	deadline := time.After(waitFor)
	for range killAfter {
		select {
		case <-ackCount:
		case <-deadline:
			t.Fatalf("publishers stalled")
		}
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t, waitFor)
	cancel()
	wg.Wait()
	t.Logf("killed after %d acknowledged publishes (threshold %d)", len(acked), killAfter)

	p = p.restart(t)
	got := p.all(t, strings.Join(topics, ","))
	checkAscending(t, got)
	have := make(map[int64]string, len(got))
	for _, e := range got {
		have[e.ID] = string(e.Data)
	}
	missing := 0
	for id, data := range acked {
		if g, ok := have[id]; !ok || g != data {
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged event %d (%s): after restart got %q", id, data, g)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged events lost or changed", missing, len(acked))
	}
	if len(got) < len(acked) {
		t.Errorf("stored %d events, fewer than the %d acknowledged", len(got), len(acked))
	}
}

// sseStream reads blocks of an event stream.
type sseStream struct {
	res *http.Response
	br  *bufio.Reader
}

func openSSE(t *testing.T, url string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, res.StatusCode)
	}
	t.Cleanup(func() { res.Body.Close() })
	return &sseStream{res: res, br: bufio.NewReader(res.Body)}
}

// next returns the next block without its comment lines, or io.EOF.
func (s *sseStream) next() (string, error) {
	var block strings.Builder
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			if err == io.EOF && (line != "" || block.Len() > 0) {
				err = fmt.Errorf("stream ended inside a block: %q", block.String()+line)
			}
			return "", err
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		if line == "\n" {
			return block.String(), nil
		}
		block.WriteString(line)
	}
}

// rawSend, readAnswer and readToClose speak HTTP by hand, for requests no
// client would send (here and in the hostile-input tests).

// rawSend opens a connection to p, writes req as it is and returns the
// connection, bounded by waitFor.
func rawSend(t *testing.T, p *proc, req string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(waitFor))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return c
}

// readAnswer reads one HTTP answer from c.
func readAnswer(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// readToClose reads and drops what comes on c until the server closes it,
// and returns how many bytes came; an error means it was not closed before
// c's deadline.
func readToClose(c net.Conn) (int64, error) {
	return io.Copy(io.Discard, c)
}

// TestGracefulShutdown sends SIGTERM with streams open, a poll waiting and
// publishers running.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	const shutdownTimeout = 10 * time.Second
	p := startServer(t, filepath.Join(t.TempDir(), "t.db"),
		"TIDINGS_SHUTDOWN_TIMEOUT="+shutdownTimeout.String(),
		"TIDINGS_SSE_MAX_DURATION=5m",
		"TIDINGS_MAX_SUBSCRIBERS=4",
	)
	p.publishSeq(t, "g", 0, 5)

	streams := make([]*sseStream, 3)
	for i := range streams {
		streams[i] = openSSE(t, fmt.Sprintf("%s/v1/topics/g/sse?cursor=%d", p.URL, i))
		if b, err := streams[i].next(); err != nil || !strings.Contains(b, "event: tidings.cursor") {
			t.Fatalf("stream %d start: %q %v", i, b, err)
		}
	}
	type answer struct {
		status int
		body   []byte
		err    error
	}
	polled := make(chan answer, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		status, b, err := request(ctx, "GET", p.URL+"/v1/topics/quiet/poll?timeout=50", "")
		polled <- answer{status, b, err}
	}()
	// With three streams and the poll, every subscriber slot is taken:
	// a probing poll gets 429 once the waiting poll is registered.
	p.waitAnswer(t, "/v1/topics/probe/poll?timeout=0", func(status int, b []byte) bool {
		if status != http.StatusOK && status != http.StatusTooManyRequests {
			t.Fatalf("probe: got %d %s, want 200 until the poll waits, then 429", status, b)
		}
		return status == http.StatusTooManyRequests
	})

	// Publishers keep going through the shutdown.
	var mu sync.Mutex
	var acked []int64
	enough := make(chan struct{}) // closed at the 50th acknowledgement
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), waitFor)
				id, status, err := p.publish(ctx, "g", fmt.Sprintf(`{"g":%d,"i":%d}`, g, i))
				cancel()
				if err != nil {
					if status == http.StatusTooManyRequests {
						continue
					}
					return // refused or closed: shutting down
				}
				mu.Lock()
				acked = append(acked, id)
				if len(acked) == 50 {
					close(enough)
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(waitFor):
		t.Fatal("publishes are not being acknowledged")
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()

	for i, s := range streams {
		var last string
		for {
			b, err := s.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("stream %d: %v", i, err)
			}
			last = b
		}
		if !strings.Contains(last, "event: tidings.cursor\n") || !strings.Contains(last, `"end":"shutting_down"`) {
			t.Errorf("stream %d final block: got %q, want a cursor block ending shutting_down", i, last)
		}
	}
	select {
	case a := <-polled:
		if a.err != nil || a.status != http.StatusOK {
			t.Errorf("waiting poll: got %d %s %v, want 200", a.status, a.body, a.err)
		}
	case <-time.After(waitFor):
		t.Fatal("the waiting poll did not answer")
	}
	if code := p.wait(t, shutdownTimeout+waitFor); code != 0 {
		t.Errorf("exit code: got %d, want 0", code)
	}
	t.Logf("exited %s after SIGTERM (bound %s)", time.Since(sent).Round(time.Millisecond), shutdownTimeout)
	if took := time.Since(sent); took > shutdownTimeout+5*time.Second {
		t.Errorf("exit took %s, beyond the shutdown timeout %s", took, shutdownTimeout)
	}
	wg.Wait()
	if !strings.Contains(p.log(), `"msg":"stopped cleanly"`) {
		t.Errorf("the log does not say it stopped cleanly")
	}

	p = p.restart(t)
	mu.Lock()
	defer mu.Unlock()
	p.checkStored(t, "g", acked)
	t.Logf("%d publishes acknowledged around SIGTERM, all present", len(acked))
}

// Graceful shutdown does not wait for bodies that never come: with a
// publish and a stream each holding back their body, SIGTERM still ends
// the server with status 0, and nothing is stored.
func TestShutdownDoesNotWaitForBodies(t *testing.T) {
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "t.db"), "TIDINGS_READ_TIMEOUT=10m", "TIDINGS_SHUTDOWN_TIMEOUT=4s")
	post := rawSend(t, p, "POST /v1/topics/t/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"da")
	sse := rawSend(t, p, "GET /v1/topics/t/sse HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
	// Both requests are read once the server answers one sent after them
	// on a connection of its own.
	if status, b, _ := get(t, p.URL+"/healthz"); status != http.StatusOK {
		t.Fatalf("healthz: %d %s", status, b)
	}
	p.stopCleanly(t)
	for name, c := range map[string]net.Conn{"publish": post, "stream": sse} {
		if res, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil && res.StatusCode < 400 {
			t.Errorf("%s: got %d, want an error or a closed connection", name, res.StatusCode)
		}
	}
	q := p.restart(t)
	if got := q.all(t, "t"); len(got) != 0 {
		t.Errorf("stored %d events, want none", len(got))
	}
}

func TestHealthAndReadyOnFreshStart(t *testing.T) {
	t.Parallel()
	// A database in a folder that does not exist yet, and nothing else.
	db := filepath.Join(t.TempDir(), "new", "folder", "t.db")
	p := startServer(t, db)
	listening := time.Since(p.started)
	p.waitReady(t)
	t.Logf("exec to listening %s, to ready %s", listening.Round(time.Microsecond), time.Since(p.started).Round(time.Microsecond))
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, b, _ := get(t, p.URL+path); status != http.StatusOK {
			t.Errorf("%s: got %d %s, want 200", path, status, b)
		}
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("database file: %v", err)
	}
}
