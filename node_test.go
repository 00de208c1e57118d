package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestNodeSuites runs the JavaScript client's suite and the end-to-end
// suite (the npm eventsource package and headless Chromium's EventSource)
// against the real server, so that the one test command covers them too.
// They need Node 20 and npm, and Debian's chromium at /usr/bin/chromium;
// a missing tool fails the test rather than skipping it.
func TestNodeSuites(t *testing.T) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm not found: the JavaScript suites need Node 20 and npm")
	}
	for _, dir := range []string{"clients/js", "e2e"} {
		t.Run(dir, func(t *testing.T) {
			if stale(dir) {
				npm1(t, dir, npm, "ci", "--no-audit", "--no-fund")
			}
			npm1(t, dir, npm, "test")
		})
	}
}

// stale reports whether dir's node_modules is missing or older than its
// package-lock.json (npm records what it installed in
// node_modules/.package-lock.json).
func stale(dir string) bool {
	installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil {
		return true
	}
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	return err != nil || lock.ModTime().After(installed.ModTime())
}

// npm1 runs one npm command in dir and fails the test with its output.
func npm1(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v in %s: %v\n%s", name, args, dir, err, out)
	}
}
