package main

// Tests of the server and its database file: one process owns it at a
// time, and a file, folder or disk the server may not write either stops
// the start or shows in /readyz.

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// nobody is the unprivileged user the permission tests run the binary as
// when the tests run as root (for whom permissions do not bite).
const nobody = 65534

// unprivileged returns a command that runs the binary as a user without
// root's rights, and a fresh folder that user owns; the test is skipped
// when there is no way to drop root.
func unprivileged(t *testing.T) (bin, dir string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "tidings-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	if os.Geteuid() != 0 {
		return binary, dir
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("running as root without setpriv: cannot drop the rights that make permissions moot")
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "tidings-as-nobody")
	script := "#!/bin/sh\nexec " + setpriv + " --reuid=" + strconv.Itoa(nobody) + " --regid=" + strconv.Itoa(nobody) + " --clear-groups -- " + binary + ` "$@"` + "\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

// A database file the server may not write: /readyz is not 200, as
// publishes fail.
func TestReadyzOnReadOnlyDatabase(t *testing.T) {
	t.Parallel()
	bin, dir := unprivileged(t)
	db := filepath.Join(dir, "t.db")
	p := startProc(t, bin, serverEnv(db))
	p.mustPublish(t, "t", "1")
	p.stopCleanly(t)
	if err := os.Chmod(db, 0o444); err != nil {
		t.Fatal(err)
	}

	p = startProc(t, bin, serverEnv(db))
	if status, _, _ := get(t, p.URL+"/readyz"); status == http.StatusOK {
		t.Errorf("GET /readyz on a read-only database: got 200, want 503")
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, status, _ := p.publish(ctx, "t", "2"); status == http.StatusCreated {
		t.Errorf("publish on a read-only database: got 201")
	}
	if status, _, _ := get(t, p.URL+"/healthz"); status != http.StatusOK {
		t.Errorf("GET /healthz: got %d, want 200 (the process is alive)", status)
	}
}

// A database folder the server may not write: it exits at start with a
// sentence naming the folder and saying permission denied.
func TestStartInFolderNotWritable(t *testing.T) {
	t.Parallel()
	bin, dir := unprivileged(t)
	locked := filepath.Join(dir, "locked")
	if err := os.Mkdir(locked, 0o555); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, db string }{
		{"in the folder", filepath.Join(locked, "t.db")},
		{"in a new folder below it", filepath.Join(locked, "sub", "t.db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := startFails(t, bin, serverEnv(tc.db), "serve")
			if !strings.Contains(out, locked) || !strings.Contains(out, "permission denied") {
				t.Errorf("TIDINGS_DB=%s: the error does not name %s and say permission denied:\n%s", tc.db, locked, out)
			}
		})
	}
}

// A full disk: publishes are 503 storage_full with a Retry-After longer
// than a second, /readyz is not 200; once room is made, both recover and
// nothing acknowledged is lost.
func TestReadyzOnFullDisk(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small filesystem needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	db := filepath.Join(dir, "t.db")
	p := startServer(t, db)
	var acked []int64
	acked = append(acked, p.mustPublish(t, "t", `"first"`))

	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for {
		if _, err := filler.Write(chunk); err != nil {
			break
		}
	}
	filler.Close()

	data := strconv.Quote(strings.Repeat("y", 8<<10))
	full := false
	for range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		id, status, _ := p.publish(ctx, "t", data)
		cancel()
		if status == http.StatusCreated {
			acked = append(acked, id)
			continue
		}
		if status != http.StatusServiceUnavailable {
			t.Fatalf("publish on a full disk: got %d, want 201 or 503", status)
		}
		full = true
		break
	}
	if !full {
		t.Fatal("200 publishes of 8 KB fitted on a full 4 MB disk")
	}
	status, _, h := get(t, p.URL+"/readyz")
	if status == http.StatusOK {
		t.Errorf("GET /readyz on a full disk: got 200, want 503")
	}
	if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n <= 1 {
		t.Errorf("Retry-After on a full disk: got %q, want more than 1 second", h.Get("Retry-After"))
	}

	os.Remove(filler.Name())
	p.waitReady(t) // the next probe of the disk is due within a second
	acked = append(acked, p.mustPublish(t, "t", `"after"`))
	p.checkStored(t, "t", acked)
}

const waitingLog = "another process holds the database file"

// Two servers on one SQLite file: the second waits without listening
// while the first serves, takes over when the first is killed, and goes
// on with the ids; nothing the first acknowledged is lost.
func TestSecondServerWaitsAndTakesOver(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "tidings.db")
	first := startServer(t, db)
	acked := first.publishSeq(t, "t", 0, 5)

	second := spawn(t, binary, serverEnv(db, "TIDINGS_LOCK_TIMEOUT=2m"))
	second.waitLog(t, waitingLog)
	acked = append(acked, first.publishSeq(t, "t", 10, 5)...)
	select {
	case addr := <-second.listening:
		t.Fatalf("the second server listens on %s while the first holds the file", addr)
	default:
	}

	first.cmd.Process.Signal(syscall.SIGKILL)
	first.wait(t, waitFor)
	second.waitListening(t)
	next := second.mustPublish(t, "t", `"after"`)
	if last := acked[len(acked)-1]; next <= last {
		t.Errorf("first id after the takeover: got %d, want more than %d", next, last)
	}
	second.checkStored(t, "t", acked)
	if n := strings.Count(second.log(), waitingLog); n != 1 {
		t.Errorf("the waiting server logged %q %d times, want once", waitingLog, n)
	}
	if !strings.Contains(second.log(), db) {
		t.Errorf("the waiting server's log does not name %s:\n%s", db, second.log())
	}
}

// Past TIDINGS_LOCK_TIMEOUT the second server exits non-zero with a
// sentence naming the file, having never listened.
func TestSecondServerGivesUp(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "tidings.db")
	startServer(t, db)
	log := startFails(t, binary, serverEnv(db, "TIDINGS_LOCK_TIMEOUT=300ms"), "serve")
	if !strings.Contains(log, "still holds "+db) {
		t.Errorf("log does not say another process still holds %s:\n%s", db, log)
	}
}
