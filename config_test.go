package main

// Tests of the settings: bad ones stop the server before it listens, and
// the ones that add or move what it serves.

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A bad value stops the server before it listens, with a message naming
// the setting.
func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, env := range []string{
		"TIDINGS_RETENTION=abc",
		"TIDINGS_MAX_SUBSCRIBERS=0",
		"TIDINGS_SSE_MAX_DURATION=-1s",
		"TIDINGS_HEARTBEAT=0s",
		"TIDINGS_MAX_EVENT_BYTES=many",
		"TIDINGS_LOG_FORMAT=xml",
		"TIDINGS_CONSOLE=maybe",
	} {
		t.Run(env, func(t *testing.T) {
			t.Parallel()
			name, _, _ := strings.Cut(env, "=")
			out := startFails(t, binary, serverEnv(filepath.Join(t.TempDir(), "t.db"), env))
			if !strings.Contains(out, name) {
				t.Errorf("output does not name %s:\n%s", name, out)
			}
		})
	}
}

// TestConsoleSetting checks the web console is served at / by default,
// with its files and the endpoints that feed it, and that
// TIDINGS_CONSOLE=off removes the page and its files but not the API.
func TestConsoleSetting(t *testing.T) {
	t.Parallel()
	script := regexp.MustCompile(`src="(console/[0-9a-f]+/console\.js)"`)

	var asset string
	t.Run("on by default", func(t *testing.T) {
		p := startServer(t, filepath.Join(t.TempDir(), "t.db"))
		status, page, h := get(t, p.URL+"/")
		if status != 200 || h.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(page, "<title>tidings console</title>") {
			t.Fatalf("GET /: got %d %q, want the console page", status, h.Get("Content-Type"))
		}
		m := script.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("the page names no console.js:\n%s", page)
		}
		asset = m[1]
		status, _, h = get(t, p.URL+"/"+asset)
		if status != 200 || h.Get("Content-Type") != "text/javascript; charset=utf-8" || !strings.Contains(h.Get("Cache-Control"), "immutable") {
			t.Errorf("GET /%s: got %d %q %q, want 200, JavaScript, cached for good", asset, status, h.Get("Content-Type"), h.Get("Cache-Control"))
		}
		for _, path := range []string{"/v1/info", "/v1/topics"} {
			if status, b, _ := get(t, p.URL+path); status != 200 {
				t.Errorf("GET %s: got %d %s, want 200", path, status, b)
			}
		}
	})
	t.Run("off", func(t *testing.T) {
		p := startServer(t, filepath.Join(t.TempDir(), "t.db"), "TIDINGS_CONSOLE=off")
		for _, path := range []string{"/", "/" + asset} {
			status, b, h := get(t, p.URL+path)
			if status != 404 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(b, `"not_found"`) {
				t.Errorf("GET %s: got %d %s, want the JSON 404", path, status, b)
			}
		}
		if status, b, _ := get(t, p.URL+"/v1/topics"); status != 200 {
			t.Errorf("GET /v1/topics: got %d %s, want 200: the API stays", status, b)
		}
	})
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
	p.stopCleanly(t)
}
