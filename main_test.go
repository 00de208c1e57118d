package main

// Process tests: they build the real binary once and drive it as an
// operator would, with environment variables and signals.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitFor bounds every wait: generous for a loaded machine, short enough
// to fail instead of hanging.
const waitFor = 30 * time.Second

var binary string

func TestMain(m *testing.M) {
	// TIDINGS_TEST_BINARY runs the process tests against a binary built
	// elsewhere (a release, or an older build to compare with).
	if bin := os.Getenv("TIDINGS_TEST_BINARY"); bin != "" {
		binary = bin
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "tidings-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Readable by all, so tests may run it as an unprivileged user.
	os.Chmod(dir, 0o755)
	binary = filepath.Join(dir, "tidings")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tidings:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running tidings process.
type proc struct {
	cmd     *exec.Cmd
	db      string // its database, when startServer started it
	addr    string // host:port it listens on
	URL     string // http://addr
	started time.Time

	listening chan string

	mu   sync.Mutex
	logs []string

	exited  chan struct{}
	waitErr error // set before exited is closed
}

// startServer runs the binary on db with a free port and waits until it
// logs where it listens.
func startServer(t *testing.T, db string, env ...string) *proc {
	t.Helper()
	p := startProc(t, binary, serverEnv(db, env...))
	p.db = db
	return p
}

// restart starts the binary again on p's database, with the default
// settings, once p has exited.
func (p *proc) restart(t *testing.T) *proc {
	t.Helper()
	return startServer(t, p.db)
}

// serverEnv is the environment startServer runs the binary with: this
// process's, a free port, db, JSON logs, then env.
func serverEnv(db string, env ...string) []string {
	environ := append(os.Environ(),
		"TIDINGS_ADDR=127.0.0.1:0",
		"TIDINGS_DB="+db,
	)
	return append(environ, env...)
}

// startProc runs bin with exactly environ (and JSON logs) and waits until
// it logs where it listens.
func startProc(t *testing.T, bin string, environ []string) *proc {
	t.Helper()
	p := spawn(t, bin, environ)
	p.waitListening(t)
	return p
}

// waitListening waits until p logs where it listens and sets p.URL.
func (p *proc) waitListening(t *testing.T) {
	t.Helper()
	select {
	case a := <-p.listening:
		p.addr, p.URL = a, "http://"+a
	case <-p.exited:
		t.Fatalf("tidings exited before listening (%v):\n%s", p.waitErr, p.log())
	case <-time.After(waitFor):
		t.Fatalf("tidings did not log its address within %s:\n%s", waitFor, p.log())
	}
}

// spawn starts bin serve with exactly environ (and JSON logs); it does not
// wait. p.listening receives the address once it is logged.
func spawn(t *testing.T, bin string, environ []string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(slices.Clip(environ), "TIDINGS_LOG_FORMAT=json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{}), listening: make(chan string, 1)}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tidings: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs = append(p.logs, line)
			p.mu.Unlock()
			var l struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "listening" && l.Addr != "" {
				select {
				case p.listening <- l.Addr:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("tidings log:\n%s", p.log())
		}
	})
	return p
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.logs, "\n")
}

// stopCleanly sends SIGTERM and wants p to exit with status 0 within
// waitFor.
func (p *proc) stopCleanly(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signal SIGTERM: %v", err)
	}
	if code := p.wait(t, waitFor); code != 0 {
		t.Errorf("exit status after SIGTERM: got %d, want 0", code)
	}
}

func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("tidings did not exit within %s", within)
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		return ee.ExitCode()
	}
	if p.waitErr != nil {
		t.Fatalf("wait: %v", p.waitErr)
	}
	return 0
}

// client has no overall timeout: callers bound requests with contexts.
var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// roundTrip sends body (as JSON, when there is one) with the headers h
// and reads the whole answer.
func roundTrip(ctx context.Context, method, url string, h http.Header, body string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

// request is roundTrip without headers, for callers that may not fail the
// test (other goroutines, polling loops).
func request(ctx context.Context, method, url, body string) (int, []byte, error) {
	res, b, err := roundTrip(ctx, method, url, nil, body)
	if res == nil {
		return 0, nil, err
	}
	return res.StatusCode, b, err
}

// send is roundTrip bounded by waitFor; the test fails if no answer comes.
// It returns the answer's status, body and headers.
func send(t *testing.T, method, url string, h http.Header, body string) (int, string, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	res, b, err := roundTrip(ctx, method, url, h, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return res.StatusCode, string(b), res.Header
}

// get is send of a GET without headers.
func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	return send(t, "GET", url, nil, "")
}

type stored struct {
	ID    int64           `json:"id"`
	Topic string          `json:"topic"`
	Data  json.RawMessage `json:"data"`
}

// publish posts data to topic; it is safe from any goroutine.
func (p *proc) publish(ctx context.Context, topic, data string) (int64, int, error) {
	status, b, err := request(ctx, "POST", p.URL+"/v1/topics/"+topic+"/events", `{"data":`+data+`}`)
	if err != nil || status != http.StatusCreated {
		return 0, status, fmt.Errorf("publish: %d %s: %w", status, b, err)
	}
	var s stored
	if err := json.Unmarshal(b, &s); err != nil {
		return 0, status, err
	}
	return s.ID, status, nil
}

func (p *proc) mustPublish(t *testing.T, topic, data string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	id, _, err := p.publish(ctx, topic, data)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// publishSeq publishes the numbers from to from+n-1 on topic and returns
// their ids.
func (p *proc) publishSeq(t *testing.T, topic string, from, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range n {
		ids[i] = p.mustPublish(t, topic, fmt.Sprint(from+i))
	}
	return ids
}

// all pages through everything retained for topics from cursor 0.
func (p *proc) all(t *testing.T, topics string) []stored {
	t.Helper()
	var out []stored
	cursor := int64(0)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		status, b, err := request(ctx, "GET", fmt.Sprintf("%s/v1/topics/%s/poll?cursor=%d&timeout=0&limit=1000", p.URL, topics, cursor), "")
		cancel()
		if err != nil || status != http.StatusOK {
			t.Fatalf("poll: %d %s %v", status, b, err)
		}
		var a struct {
			Events []stored `json:"events"`
			Cursor int64    `json:"cursor"`
			More   bool     `json:"more"`
			Reset  bool     `json:"reset"`
		}
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("poll answer %s: %v", b, err)
		}
		if a.Reset {
			t.Fatalf("poll from 0 answered a reset: %s", b)
		}
		out = append(out, a.Events...)
		cursor = a.Cursor
		if !a.More {
			return out
		}
	}
}

// checkAscending fails unless ids strictly increase.
func checkAscending(t *testing.T, evs []stored) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].ID <= evs[i-1].ID {
			t.Fatalf("ids not strictly increasing: %d then %d", evs[i-1].ID, evs[i].ID)
		}
	}
}

// output runs bin with args, this process's environment and env, and
// returns its standard output; the test fails unless bin exits 0.
func output(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%q: %v", cmd.Args, err)
	}
	return string(out)
}

// startFails runs bin with args and exactly environ, and wants it to exit
// non-zero within waitFor without having listened; it returns what bin
// printed.
func startFails(t *testing.T, bin string, environ []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = environ
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%q did not exit within %s:\n%s", cmd.Args, waitFor, out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("%q: got %v, want a non-zero exit; output:\n%s", cmd.Args, err, out)
	}
	if strings.Contains(string(out), `"msg":"listening"`) {
		t.Errorf("it listened:\n%s", out)
	}
	return string(out)
}

// checkStored fails for every acknowledged id p does not store on topics,
// and unless the stored ids strictly increase.
func (p *proc) checkStored(t *testing.T, topics string, acked []int64) {
	t.Helper()
	got := p.all(t, topics)
	checkAscending(t, got)
	have := make(map[int64]bool, len(got))
	for _, e := range got {
		have[e.ID] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged id %d is not stored", id)
		}
	}
}

// waitAnswer polls GET path on p until ok accepts an answer, failing the
// test after waitFor.
func (p *proc) waitAnswer(t *testing.T, path string, ok func(status int, body []byte) bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		status, b, err := request(ctx, "GET", p.URL+path, "")
		cancel()
		if err == nil && ok(status, b) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: no wanted answer within %s; the last was %d %s %v", path, waitFor, status, b, err)
		}
		time.Sleep(20 * time.Millisecond) // poll
	}
}

// waitReady waits until p's /readyz answers 200.
func (p *proc) waitReady(t *testing.T) {
	t.Helper()
	p.waitAnswer(t, "/readyz", func(status int, _ []byte) bool { return status == http.StatusOK })
}

// waitLog waits until p has logged a line containing s and returns how
// many such lines it has logged.
func (p *proc) waitLog(t *testing.T, s string) int {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		if n := strings.Count(p.log(), s); n > 0 {
			return n
		}
		select {
		case <-p.exited:
			t.Fatalf("tidings exited (%v) without logging %q:\n%s", p.waitErr, s, p.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tidings did not log %q within %s:\n%s", s, waitFor, p.log())
		}
	}
}

// waitLogLine waits until p has logged a line containing s and returns it.
func (p *proc) waitLogLine(t *testing.T, s string) string {
	t.Helper()
	p.waitLog(t, s)
	for _, l := range strings.Split(p.log(), "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// waitMetric polls /metrics until one of its lines is want.
func (p *proc) waitMetric(t *testing.T, want string) {
	t.Helper()
	line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`)
	p.waitAnswer(t, "/metrics", func(_ int, b []byte) bool { return line.Match(b) })
}

// The top-level usage lists every command.
func TestUsageListsCommands(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	usage(&out)
	for _, cmd := range []string{"serve", "publish", "tail", "version", "token"} {
		if !strings.Contains(out.String(), "tidings "+cmd) && !strings.Contains(out.String(), "["+cmd+"]") {
			t.Errorf("usage does not list %s:\n%s", cmd, out.String())
		}
	}
}

// tidings --version and -v print what tidings version prints.
func TestVersionFlags(t *testing.T) {
	t.Parallel()
	want := output(t, binary, nil, "version")
	for _, flag := range []string{"--version", "-v"} {
		if got := output(t, binary, nil, flag); got != want {
			t.Errorf("tidings %s: got %q, want %q", flag, got, want)
		}
	}
}
