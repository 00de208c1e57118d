package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

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
