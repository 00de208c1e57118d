package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

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

// With TIDINGS_METRICS_ADDR, /metrics is served there and not on the main
// listener; the start-up log says where, and whether the server is open.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	t.Parallel()
	p := startServer(t, filepath.Join(t.TempDir(), "t.db"), "TIDINGS_METRICS_ADDR=127.0.0.1:0")
	line := p.waitLogLine(t, "serving metrics")
	var l struct{ Addr string }
	if err := json.Unmarshal([]byte(line), &l); err != nil || l.Addr == "" {
		t.Fatalf("log line %q: want the metrics address", line)
	}
	if status, _, _ := get(t, "http://"+l.Addr+"/metrics"); status != http.StatusOK {
		t.Errorf("GET /metrics on the metrics listener: got %d, want 200", status)
	}
	if status, _, _ := get(t, p.URL+"/metrics"); status != http.StatusNotFound {
		t.Errorf("GET /metrics on the main listener: got %d, want 404", status)
	}
	if !strings.Contains(p.log(), `"open":true`) {
		t.Errorf("the listening line does not say the server is open:\n%s", p.log())
	}
	if code := p.stop(t, syscall.SIGTERM, waitFor); code != 0 {
		t.Errorf("exit status: got %d, want 0", code)
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

// waitMetric polls /metrics until a line starts with want.
func (p *proc) waitMetric(t *testing.T, want string) {
	t.Helper()
	line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`)
	p.waitAnswer(t, "/metrics", func(_ int, b []byte) bool { return line.Match(b) })
}
