package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

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
