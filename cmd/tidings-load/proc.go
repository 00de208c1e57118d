package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a process the tool started (tidings or a baseline), or an
// existing tidings given with --addr (then pid is 0 and nothing is
// measured on the server side).
type server struct {
	name    string
	base    string // http://host:port
	pid     int
	cmd     *exec.Cmd
	startup time.Duration // exec to the first 200 from the ready URL
	stderr  *tailBuffer
	done    chan struct{}
}

// tailBuffer keeps the last lines a child wrote, for error messages.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (t *tailBuffer) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, s)
	if len(t.lines) > 20 {
		t.lines = t.lines[len(t.lines)-20:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// tidingsBinary returns the server binary: --server-bin, or one built from
// the module that holds this tool.
func (o *options) tidingsBinary() (string, error) {
	if o.serverBin != "" {
		return o.serverBin, nil
	}
	if o.builtBin != "" {
		return o.builtBin, nil
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the tidings module (go env GOMOD): %w; pass --server-bin", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the tidings module; run from the repository or pass --server-bin")
	}
	bin := filepath.Join(o.workDir, "tidings")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Dir(gomod)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build tidings: %w", err)
	}
	o.builtBin = bin
	return bin, nil
}

// startTidings starts a tidings server on a fresh database (or on db if
// given), with env added to the defaults, and waits until /readyz answers.
func (o *options) startTidings(ctx context.Context, db string, env ...string) (*server, error) {
	if o.addr != "" {
		return &server{name: "tidings", base: "http://" + o.addr}, nil
	}
	bin, err := o.tidingsBinary()
	if err != nil {
		return nil, err
	}
	return o.startTidingsBin(ctx, "tidings", bin, db, env...)
}

// startTidingsBin starts the tidings binary bin on db (a new one when "").
func (o *options) startTidingsBin(ctx context.Context, name, bin, db string, env ...string) (*server, error) {
	if db == "" {
		dir, err := os.MkdirTemp(o.workDir, "db-")
		if err != nil {
			return nil, err
		}
		db = filepath.Join(dir, "tidings.db")
	}
	// A free port chosen here rather than :0, so the address is known even
	// when --server-env quiets the log line that announces it.
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"TIDINGS_ADDR="+addr,
		"TIDINGS_DB="+db,
		"TIDINGS_LOG_FORMAT=json",
		"TIDINGS_LOG_LEVEL=info", // the default, with one access line per request
		"TIDINGS_MAX_SUBSCRIBERS=100000",
		"TIDINGS_SSE_MAX_DURATION=10m",
		"TIDINGS_POLL_MAX_TIMEOUT=10m",
		// Every client of a load test is one loopback address, which the
		// per-address limits would throttle at once.
		"TIDINGS_PUBLISH_RATE=0",
		"TIDINGS_MAX_SUBSCRIPTIONS_PER_IP=0",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Env = append(cmd.Env, o.serverEnv...)
	return startProcess(ctx, name, cmd, "/readyz", func(line string) string { return addr })
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startBaseline re-executes this tool as one of the baseline servers.
func (o *options) startBaseline(ctx context.Context, kind string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, baselineCommand, kind)
	return startProcess(ctx, "baseline-"+kind, cmd, "/readyz", func(line string) string {
		if addr, ok := strings.CutPrefix(line, "listening "); ok {
			return addr
		}
		return ""
	})
}

// startProcess runs cmd, finds its address in a stderr line with addrOf,
// then polls ready until it answers 200; startup is measured from exec.
func startProcess(ctx context.Context, name string, cmd *exec.Cmd, ready string, addrOf func(string) string) (*server, error) {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	s := &server{name: name, cmd: cmd, stderr: &tailBuffer{}, done: make(chan struct{})}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s.pid = cmd.Process.Pid
	addrc := make(chan string, 1)
	isUp := make(chan struct{}) // closed once the server answers
	preset := addrOf("")
	if preset != "" {
		addrc <- preset
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := preset != ""
		for sc.Scan() {
			line := sc.Text()
			s.stderr.add(line)
			if !found {
				if a := addrOf(line); a != "" {
					found = true
					addrc <- a
				}
			}
			select {
			case <-isUp:
			default:
				continue
			}
			break
		}
		// Past start-up (access logs, mostly), the output is drained as
		// cheaply as possible: the client shares the machine.
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(s.done)
	}()
	select {
	case addr := <-addrc:
		s.base = "http://" + addr
	case <-s.done:
		return nil, fmt.Errorf("%s exited before listening:\n%s", name, s.stderr)
	case <-time.After(2 * time.Minute):
		s.stop()
		return nil, fmt.Errorf("%s did not listen within 2m:\n%s", name, s.stderr)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(s.base + ready)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > time.Minute {
			s.stop()
			return nil, fmt.Errorf("%s not ready within 1m: %v\n%s", name, err, s.stderr)
		}
		time.Sleep(200 * time.Microsecond)
	}
	s.startup = time.Since(start)
	close(isUp)
	client.CloseIdleConnections()
	return s, nil
}

// stop ends a started server with SIGTERM, then SIGKILL after 15s.
func (s *server) stop() {
	if s == nil || s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}
