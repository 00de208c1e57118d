package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/handlers"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/storetest"
	"github.com/tidings/tidings/stream"
)

// countingHub counts the reads that reach the hub (and from it, for old
// cursors, the store).
type countingHub struct {
	*stream.Hub
	reads atomic.Int64
}

func (h *countingHub) Read(ctx context.Context, topics []string, cursor int64, limit int) (stream.Batch, error) {
	h.reads.Add(1)
	return h.Hub.Read(ctx, topics, cursor, limit)
}

// fullServer serves the store at path behind a hub of one subscriber,
// whose one slot a stream already holds: every stream it is asked for now
// is refused for capacity. Reads through the hub are counted.
func fullServer(t *testing.T, path string) (*countingHub, string) {
	t.Helper()
	hub := &countingHub{Hub: stream.NewHub(stream.HubOptions{MaxSubscribers: 1})}
	st, err := store.Open(path, store.Options{OnCommit: hub.Committed, OnPrune: hub.Pruned})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	if err := hub.Attach(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handlers.New(handlers.Config{}, st, hub))
	t.Cleanup(func() { hub.Stop(); srv.Close() })
	held, err := http.Get(srv.URL + "/v1/topics/t/sse")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Body.Close() })
	if _, err := held.Body.Read(make([]byte, 1)); err != nil {
		t.Fatalf("first stream: %v", err)
	}
	return hub, srv.URL
}

// A stream refused for capacity reads nothing: refusals stay cheap when
// the server is at its limit.
func TestRefusedSSEReadsNothing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "t.db")
	seed, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustAppend(t, seed, storetest.In("t", "1"))
	if err := seed.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	hub, url := fullServer(t, path)
	before := hub.reads.Load()
	status, _, body := do(t, "GET", url+"/v1/topics/t/sse?cursor=0", nil, "")
	if status != http.StatusOK || !strings.Contains(string(body), `"end":"overloaded"`) {
		t.Fatalf("refused stream: got %d %q, want 200 ending overloaded", status, body)
	}
	if n := hub.reads.Load() - before; n != 0 {
		t.Errorf("a refused stream read %d times, want 0", n)
	}
}

// A stream refused for capacity with an expired cursor gets the reset
// block before its final block, as an accepted one would; the hub knows
// the cursor may be expired from the store it was attached to, here
// reopened after the prune, so only such a cursor costs a read.
func TestRefusedSSEResetsAnExpiredCursor(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "t.db")
	before, err := store.Open(path, store.Options{Retention: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustAppend(t, before, storetest.In("t", "1"), storetest.In("t", "2"))
	storetest.WaitPruned(t, before, 2)
	if err := before.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	hub, url := fullServer(t, path)

	reads := hub.reads.Load()
	status, _, body := do(t, "GET", url+"/v1/topics/t/sse?cursor=1", nil, "")
	text := string(body)
	reset := strings.Index(text, `{"reason":"cursor_expired","cursor":2}`)
	final := strings.Index(text, `{"cursor":2,"end":"overloaded"}`)
	if status != http.StatusOK || reset < 0 || final < reset {
		t.Fatalf("refused stream at an expired cursor: got %d %q, want 200, the reset to 2, then the final block at 2", status, body)
	}
	if n := hub.reads.Load() - reads; n != 1 {
		t.Errorf("the refusal read %d times, want 1", n)
	}
	// A cursor at the pruned mark cannot be expired: no read.
	reads = hub.reads.Load()
	status, _, body = do(t, "GET", url+"/v1/topics/t/sse?cursor=2", nil, "")
	if text := string(body); status != http.StatusOK || strings.Contains(text, "tidings.reset") || !strings.Contains(text, `{"cursor":2,"end":"overloaded"}`) {
		t.Fatalf("refused stream at the head: got %d %q, want 200 and only the final block at 2", status, body)
	}
	if n := hub.reads.Load() - reads; n != 0 {
		t.Errorf("a refusal at a cursor that cannot be expired read %d times, want 0", n)
	}
}
