package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
)

// mustOpen opens a store on a new file in t.TempDir and closes it at the end.
func mustOpen(tb testing.TB, opts store.Options) (*store.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "tidings.db")
	return mustOpenAt(tb, path, opts), path
}

func mustOpenAt(tb testing.TB, path string, opts store.Options) *store.Store {
	tb.Helper()
	if opts.PruneInterval == 0 {
		opts.PruneInterval = time.Hour // tests prune explicitly
	}
	s, err := store.Open(path, opts)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func in(topic string, data string) store.Input {
	return store.Input{Topic: topic, Type: "message", Data: json.RawMessage(data)}
}

func mustAppend(tb testing.TB, s *store.Store, inputs ...store.Input) []store.Result {
	tb.Helper()
	res, err := s.Append(context.Background(), inputs)
	if err != nil {
		tb.Fatalf("append: %v", err)
	}
	return res
}

func ids(evs []store.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func TestAppendAssignsIncreasingIDs(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var committed []int64
	s, _ := mustOpen(t, store.Options{OnCommit: func(evs []store.Event) {
		mu.Lock()
		committed = append(committed, ids(evs)...)
		mu.Unlock()
	}})

	const publishers, each = 16, 50
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				mustAppend(t, s, in(fmt.Sprintf("t%d", p%3), fmt.Sprintf(`{"p":%d,"i":%d}`, p, i)))
			}
		})
	}
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if got, want := len(committed), publishers*each; got != want {
		t.Fatalf("committed %d events, want %d", got, want)
	}
	for i, id := range committed {
		if want := int64(i + 1); id != want {
			t.Fatalf("OnCommit saw id %d at position %d, want %d", id, i, want)
		}
	}
}

func TestReadAfterOrdersTopics(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	for i := range 30 {
		mustAppend(t, s, in([]string{"a", "b", "c"}[i%3], fmt.Sprint(i)))
	}
	ctx := context.Background()

	p, err := s.ReadAfter(ctx, []string{"c", "a"}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for i := range 30 {
		if i%3 != 1 {
			want = append(want, int64(i+1))
		}
	}
	if got := ids(p.Events); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ids = %v, want %v", got, want)
	}
	if p.More || p.Cursor != 30 || p.Reset != "" {
		t.Fatalf("page = more %v cursor %d reset %q, want false 30 \"\"", p.More, p.Cursor, p.Reset)
	}

	t.Run("limit", func(t *testing.T) {
		p, err := s.ReadAfter(ctx, []string{"a", "c"}, 4, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(ids(p.Events)), "[6 7 9]"; got != want {
			t.Fatalf("ids = %s, want %s", got, want)
		}
		if !p.More || p.Cursor != 9 {
			t.Fatalf("more %v cursor %d, want true 9", p.More, p.Cursor)
		}
	})
	t.Run("data and time", func(t *testing.T) {
		p, err := s.ReadAfter(ctx, []string{"b"}, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		e := p.Events[0]
		if e.ID != 2 || e.Topic != "b" || string(e.Data) != "1" || e.Type != "message" {
			t.Fatalf("event = %+v", e)
		}
		if e.Time.IsZero() || e.Time.Location() != time.UTC {
			t.Fatalf("time = %v, want a UTC commit time", e.Time)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	k := func(topic, key, data string) store.Input {
		i := in(topic, data)
		i.Key = key
		return i
	}
	first := mustAppend(t, s, k("orders", "k1", `1`))[0]
	again := mustAppend(t, s, k("orders", "k1", `2`))[0]
	if !again.Duplicate || again.Event.ID != first.Event.ID {
		t.Fatalf("repeat = %+v, want duplicate of id %d", again, first.Event.ID)
	}
	if h, err := s.Head(context.Background()); err != nil || h != first.Event.ID {
		t.Fatalf("head after a duplicate = %d, %v; want %d", h, err, first.Event.ID)
	}
	other := mustAppend(t, s, k("payments", "k1", `3`))[0]
	if other.Duplicate {
		t.Fatal("same key on another topic was answered as a duplicate")
	}

	t.Run("within one batch", func(t *testing.T) {
		res := mustAppend(t, s, k("x", "dup", `1`), k("x", "dup", `2`), in("x", `3`))
		if res[0].Duplicate || !res[1].Duplicate || res[1].Event.ID != res[0].Event.ID || res[2].Duplicate {
			t.Fatalf("results = %+v", res)
		}
		if res[2].Event.ID != res[0].Event.ID+1 {
			t.Fatalf("ids %d then %d: a duplicate consumed an id", res[0].Event.ID, res[2].Event.ID)
		}
	})
	t.Run("key free again after pruning", func(t *testing.T) {
		s, _ := mustOpen(t, store.Options{MaxEventsPerTopic: 1})
		a := mustAppend(t, s, k("t", "once", `1`))[0]
		mustAppend(t, s, in("t", `2`))
		if _, err := s.Prune(context.Background()); err != nil {
			t.Fatal(err)
		}
		b := mustAppend(t, s, k("t", "once", `3`))[0]
		if b.Duplicate || b.Event.ID <= a.Event.ID {
			t.Fatalf("after pruning got %+v, want a new event", b)
		}
	})
}

func TestAppendRejectsBadBatchSize(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	if _, err := s.Append(context.Background(), nil); err == nil {
		t.Error("empty batch accepted")
	}
	big := make([]store.Input, store.MaxBatch+1)
	for i := range big {
		big[i] = in("t", "1")
	}
	if _, err := s.Append(context.Background(), big); err == nil {
		t.Error("oversized batch accepted")
	}
	if h, _ := s.Head(context.Background()); h != 0 {
		t.Errorf("head = %d after refused batches, want 0", h)
	}
}

func TestRestartKeepsIDsAndHistory(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tidings.db")
	s, err := store.Open(path, store.Options{MaxEventsPerTopic: 2, PruneInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		mustAppend(t, s, in("t", fmt.Sprint(i)))
	}
	// Prune everything but two, then more: the ids must still go on.
	if _, err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	s2 := mustOpenAt(t, path, store.Options{MaxEventsPerTopic: 2})
	if h, err := s2.Head(context.Background()); err != nil || h != 5 {
		t.Fatalf("head after restart = %d, %v; want 5", h, err)
	}
	r := mustAppend(t, s2, in("t", `"after"`))
	if r[0].Event.ID != 6 {
		t.Fatalf("id after restart = %d, want 6", r[0].Event.ID)
	}
	p, err := s2.ReadAfter(context.Background(), []string{"t"}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(ids(p.Events)), "[4 5 6]"; got != want {
		t.Fatalf("history = %s, want %s", got, want)
	}
}

func TestIDsNeverReusedAfterEverythingPruned(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tidings.db")
	s, err := store.Open(path, store.Options{Retention: time.Millisecond, PruneInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, in("t", "1"), in("t", "2"))
	waitPruned(t, s, 2)
	s.Close(context.Background())

	s2 := mustOpenAt(t, path, store.Options{})
	if r := mustAppend(t, s2, in("t", "3")); r[0].Event.ID != 3 {
		t.Fatalf("id = %d, want 3: an id was reused", r[0].Event.ID)
	}
}

// waitPruned prunes until n events were deleted (retention needs the clock
// to move past the commit time).
func waitPruned(t *testing.T, s *store.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	total := 0
	for total < n {
		got, err := s.Prune(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total += got
		if time.Now().After(deadline) {
			t.Fatalf("pruned %d events, want %d", total, n)
		}
		if total < n {
			time.Sleep(2 * time.Millisecond) // let the clock pass the retention
		}
	}
}

func TestResets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := mustOpen(t, store.Options{MaxEventsPerTopic: 3})
	// ids: a=1..5, b=6, a=7
	for i := range 5 {
		mustAppend(t, s, in("a", fmt.Sprint(i)))
	}
	mustAppend(t, s, in("b", `"b"`))
	mustAppend(t, s, in("a", `"late"`))
	if n, err := s.Prune(ctx); err != nil || n != 3 {
		t.Fatalf("pruned %d, %v; want 3 (ids 1..3 of a)", n, err)
	}

	tests := []struct {
		name        string
		topics      []string
		cursor      int64
		reset       string
		resetCursor int64
		ids         string
	}{
		{"cursor zero never resets", []string{"a"}, 0, "", 0, "[4 5 7]"},
		{"expired", []string{"a"}, 1, store.ResetExpired, 3, "[4 5 7]"},
		{"expired by the last pruned id", []string{"a"}, 2, store.ResetExpired, 3, "[4 5 7]"},
		{"at the pruned id is fine", []string{"a"}, 3, "", 0, "[4 5 7]"},
		{"other topic keeps the oldest", []string{"b", "a"}, 1, store.ResetExpired, 3, "[4 5 6 7]"},
		{"untouched topic", []string{"b"}, 1, "", 0, "[6]"},
		{"ahead", []string{"a"}, 99, store.ResetAhead, 7, "[]"},
		{"at head", []string{"a"}, 7, "", 0, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.ReadAfter(ctx, tt.topics, tt.cursor, 10)
			if err != nil {
				t.Fatal(err)
			}
			if p.Reset != tt.reset || p.ResetCursor != tt.resetCursor {
				t.Errorf("reset = %q %d, want %q %d", p.Reset, p.ResetCursor, tt.reset, tt.resetCursor)
			}
			if got := fmt.Sprint(ids(p.Events)); got != tt.ids {
				t.Errorf("ids = %s, want %s", got, tt.ids)
			}
			if p.Cursor != 7 {
				t.Errorf("cursor = %d, want the head 7", p.Cursor)
			}
		})
	}

	t.Run("expired with nothing retained continues at head", func(t *testing.T) {
		s, _ := mustOpen(t, store.Options{Retention: time.Millisecond})
		mustAppend(t, s, in("z", "1"), in("z", "2"), in("z", "3"))
		waitPruned(t, s, 3)
		p, err := s.ReadAfter(ctx, []string{"z"}, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		if p.Reset != store.ResetExpired || p.ResetCursor != 3 || len(p.Events) != 0 {
			t.Fatalf("page = %+v, want expired at head 3", p)
		}
	})
}

func TestPruneChunksAndCounts(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var prunedTo int64
	s, _ := mustOpen(t, store.Options{MaxEventsPerTopic: 100, OnPrune: func(id int64) {
		mu.Lock()
		prunedTo = max(prunedTo, id)
		mu.Unlock()
	}})
	batch := make([]store.Input, 1000)
	for i := range batch {
		batch[i] = in("big", fmt.Sprint(i))
	}
	for range 3 {
		mustAppend(t, s, batch...)
	}
	n, err := s.Prune(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 2900 {
		t.Fatalf("pruned %d, want 2900", n)
	}
	mu.Lock()
	if prunedTo != 2900 {
		t.Errorf("OnPrune saw %d, want 2900", prunedTo)
	}
	mu.Unlock()
	// The count is kept right: a second prune has nothing to do.
	if n, err := s.Prune(context.Background()); err != nil || n != 0 {
		t.Fatalf("second prune deleted %d, %v; want 0", n, err)
	}
	mustAppend(t, s, in("big", "1"))
	if n, err := s.Prune(context.Background()); err != nil || n != 1 {
		t.Fatalf("third prune deleted %d, %v; want 1", n, err)
	}
}

func TestCloseCommitsQueuedAndRefusesNew(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tidings.db")
	s, err := store.Open(path, store.Options{PruneInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	acked := make(chan int64, 1000)
	for i := range 200 {
		wg.Go(func() {
			if r, err := s.Append(context.Background(), []store.Input{in("t", fmt.Sprint(i))}); err == nil {
				acked <- r[0].Event.ID
			}
		})
	}
	wg.Wait()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(acked)
	if _, err := s.Append(context.Background(), []store.Input{in("t", "1")}); err != store.ErrClosed {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}

	s2 := mustOpenAt(t, path, store.Options{})
	p, err := s2.ReadAfter(context.Background(), []string{"t"}, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]bool{}
	for _, e := range p.Events {
		stored[e.ID] = true
	}
	for id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged id %d missing after reopen", id)
		}
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}
