// Package storetest is the behaviour every backend of the event log must
// show, written once and run against each: the SQLite store from store's
// tests, the PostgreSQL store from store/postgres's tests.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
)

// Fresh makes a new, empty storage location (a file, a database) for one
// test and returns a function that opens a store on it. Each call of that
// function opens another store on the same location, as a restart would.
type Fresh func(t *testing.T) func(opts store.Options) (store.Log, error)

// Run runs the whole suite, each test on its own fresh location.
func Run(t *testing.T, fresh Fresh) {
	h := harness{fresh: fresh}
	tests := []struct {
		name string
		fn   func(*testing.T, harness)
	}{
		{"AppendAssignsIncreasingIDs", testAppendAssignsIncreasingIDs},
		{"OnCommitBeforeAnswer", testOnCommitBeforeAnswer},
		{"BatchesAreAtomic", testBatchesAreAtomic},
		{"BatchesOfEverySize", testBatchesOfEverySize},
		{"CopyKeepsPrunedPast", testCopyKeepsPrunedPast},
		{"PrunedMark", testPrunedMark},
		{"ReadAfterOrdersTopics", testReadAfterOrdersTopics},
		{"IdempotencyKey", testIdempotencyKey},
		{"AppendRejectsBadBatchSize", testAppendRejectsBadBatchSize},
		{"RestartKeepsIDsAndHistory", testRestartKeepsIDsAndHistory},
		{"IDsNeverReusedAfterEverythingPruned", testIDsNeverReusedAfterEverythingPruned},
		{"Resets", testResets},
		{"PruneChunksAndCounts", testPruneChunksAndCounts},
		{"CloseCommitsQueuedAndRefusesNew", testCloseCommitsQueuedAndRefusesNew},
		{"Ping", testPing},
		{"CopyKeepsEverything", testCopyKeepsEverything},
		{"ImportRefusesNonEmpty", testImportRefusesNonEmpty},
		{"Topics", testTopics},
		{"TopicsAfterPruning", testTopicsAfterPruning},
		{"TopicsEmptyStore", testTopicsEmptyStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, h)
		})
	}
}

type harness struct{ fresh Fresh }

// open opens a store on a fresh location; tests prune explicitly.
func (h harness) open(t *testing.T, opts store.Options) store.Log {
	t.Helper()
	s, _ := h.openAt(t, opts)
	return s
}

// openAt also returns the opener, to open the same location again.
func (h harness) openAt(t *testing.T, opts store.Options) (store.Log, func(store.Options) store.Log) {
	t.Helper()
	open := h.fresh(t)
	reopen := func(opts store.Options) store.Log {
		t.Helper()
		return MustOpen(t, open, opts)
	}
	return reopen(opts), reopen
}

// MustOpen opens a store with open (an hourly pruner unless opts says
// otherwise) and closes it when the test ends.
func MustOpen(t testing.TB, open func(store.Options) (store.Log, error), opts store.Options) store.Log {
	t.Helper()
	if opts.PruneInterval == 0 {
		opts.PruneInterval = time.Hour
	}
	s, err := open(opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// In is an input of type message on topic with data.
func In(topic, data string) store.Input {
	return store.Input{Topic: topic, Type: "message", Data: json.RawMessage(data)}
}

// Keyed is In with an idempotency key.
func Keyed(topic, key, data string) store.Input {
	i := In(topic, data)
	i.Key = key
	return i
}

// MustAppend appends inputs or fails the test.
func MustAppend(t testing.TB, s store.Log, inputs ...store.Input) []store.Result {
	t.Helper()
	res, err := s.Append(context.Background(), inputs)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return res
}

// CheckOneStored fails t unless got, the answers to appends that all
// carried key, name one event and exactly one of them stored it.
func CheckOneStored(t testing.TB, key string, got []store.Result) {
	t.Helper()
	fresh := 0
	for _, r := range got {
		if !r.Duplicate {
			fresh++
		}
		if r.Event.ID != got[0].Event.ID {
			t.Fatalf("key %s answered with ids %d and %d, want one", key, got[0].Event.ID, r.Event.ID)
		}
	}
	if fresh != 1 {
		t.Fatalf("key %s stored %d times, want once", key, fresh)
	}
}

// IDs lists the ids of evs.
func IDs(evs []store.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// Recorder is an OnCommit hook that keeps every event it is handed.
type Recorder struct {
	mu     sync.Mutex
	events []store.Event
	pruned int64
	wake   chan struct{}
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{wake: make(chan struct{}, 1)} }

// OnCommit records evs.
func (r *Recorder) OnCommit(evs []store.Event) {
	r.mu.Lock()
	r.events = append(r.events, evs...)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// OnPrune records the highest pruned id.
func (r *Recorder) OnPrune(id int64) {
	r.mu.Lock()
	r.pruned = max(r.pruned, id)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Events returns a copy of what was recorded.
func (r *Recorder) Events() []store.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Pruned returns the highest id OnPrune was called with.
func (r *Recorder) Pruned() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pruned
}

// WaitFor waits until cond holds over the recorder, failing the test after
// a generous deadline.
func (r *Recorder) WaitFor(t testing.TB, what string, cond func(*Recorder) bool) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for !cond(r) {
		select {
		case <-r.wake:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func testAppendAssignsIncreasingIDs(t *testing.T, h harness) {
	rec := NewRecorder()
	s := h.open(t, store.Options{OnCommit: rec.OnCommit})

	const publishers, each = 16, 50
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				MustAppend(t, s, In(fmt.Sprintf("t%d", p%3), fmt.Sprintf(`{"p":%d,"i":%d}`, p, i)))
			}
		})
	}
	wg.Wait()

	committed := IDs(rec.Events())
	if got, want := len(committed), publishers*each; got != want {
		t.Fatalf("committed %d events, want %d", got, want)
	}
	for i, id := range committed {
		if want := int64(i + 1); id != want {
			t.Fatalf("OnCommit saw id %d at position %d, want %d", id, i, want)
		}
	}
	if h, err := s.Head(context.Background()); err != nil || h != publishers*each {
		t.Fatalf("head = %d, %v; want %d", h, err, publishers*each)
	}
}

func testOnCommitBeforeAnswer(t *testing.T, h harness) {
	rec := NewRecorder()
	s := h.open(t, store.Options{OnCommit: rec.OnCommit})
	for i := range 20 {
		res := MustAppend(t, s, In("t", fmt.Sprint(i)), In("u", fmt.Sprint(i)))
		seen := IDs(rec.Events())
		for _, r := range res {
			if !slices.Contains(seen, r.Event.ID) {
				t.Fatalf("append of id %d answered before OnCommit saw it (saw %v)", r.Event.ID, seen)
			}
		}
	}
	evs := rec.Events()
	if evs[0].Topic != "t" || string(evs[0].Data) != "0" || evs[0].Type != "message" || evs[0].Time.IsZero() {
		t.Fatalf("OnCommit event = %+v", evs[0])
	}
}

func testBatchesAreAtomic(t *testing.T, h harness) {
	s := h.open(t, store.Options{})
	const size, batches = 10, 30
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for b := range batches / 3 {
				in := make([]store.Input, size)
				for i := range in {
					in[i] = In("t", fmt.Sprintf(`[%d,%d,%d]`, w, b, i))
				}
				res := MustAppend(t, s, in...)
				for i := 1; i < len(res); i++ {
					if res[i].Event.ID != res[i-1].Event.ID+1 {
						t.Errorf("batch ids %d then %d: not contiguous", res[i-1].Event.ID, res[i].Event.ID)
					}
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		p, err := s.ReadAfter(context.Background(), []string{"t"}, 0, size*batches)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events)%size != 0 {
			t.Fatalf("a reader saw %d events: part of a batch", len(p.Events))
		}
	}
}

// testBatchesOfEverySize stores batches of many sizes, some with keys
// among them, and reads every event back in order with its data: a
// backend may write a batch in statements of several sizes.
func testBatchesOfEverySize(t *testing.T, h harness) {
	s := h.open(t, store.Options{})
	var want []string
	for _, size := range []int{1, 2, 3, 4, 5, 15, 16, 17, 63, 64, 65, 85, 129, store.MaxBatch} {
		in := make([]store.Input, size)
		for i := range in {
			data := fmt.Sprintf(`{"size":%d,"i":%d}`, size, i)
			in[i] = In(fmt.Sprintf("t%d", i%3), data)
			if i%7 == 6 {
				in[i] = Keyed(in[i].Topic, data, data)
			}
			want = append(want, data)
		}
		for i, r := range MustAppend(t, s, in...) {
			if r.Duplicate || string(r.Event.Data) != string(in[i].Data) {
				t.Fatalf("batch of %d, event %d: got %+v", size, i, r)
			}
		}
	}
	p, err := s.ReadAfter(context.Background(), []string{"t0", "t1", "t2"}, 0, len(want))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != len(want) {
		t.Fatalf("read %d events, want %d", len(p.Events), len(want))
	}
	for i, e := range p.Events {
		if e.ID != int64(i+1) || string(e.Data) != want[i] {
			t.Fatalf("event %d: id %d data %s; want id %d data %s", i, e.ID, e.Data, i+1, want[i])
		}
	}
}

func testReadAfterOrdersTopics(t *testing.T, h harness) {
	s := h.open(t, store.Options{})
	for i := range 30 {
		MustAppend(t, s, In([]string{"a", "b", "c"}[i%3], fmt.Sprint(i)))
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
	if got := IDs(p.Events); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ids = %v, want %v", got, want)
	}
	if p.More || p.Cursor != 30 || p.Reset != "" || p.Head != 30 {
		t.Fatalf("page = more %v cursor %d reset %q head %d, want false 30 \"\" 30", p.More, p.Cursor, p.Reset, p.Head)
	}

	t.Run("limit", func(t *testing.T) {
		p, err := s.ReadAfter(ctx, []string{"a", "c"}, 4, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(IDs(p.Events)), "[6 7 9]"; got != want {
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
	t.Run("data kept byte for byte", func(t *testing.T) {
		data := `{"z":1,"a":[1.50,"\u00e9\n"],"n":null}`
		r := MustAppend(t, s, In("raw", data))[0]
		p, err := s.ReadAfter(ctx, []string{"raw"}, r.Event.ID-1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(p.Events[0].Data); got != data {
			t.Fatalf("data = %s, want %s", got, data)
		}
	})
	t.Run("unknown topic", func(t *testing.T) {
		p, err := s.ReadAfter(ctx, []string{"nothing"}, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) != 0 || p.Cursor != p.Head || p.Reset != "" {
			t.Fatalf("page = %+v, want empty at head", p)
		}
	})
}

func testIdempotencyKey(t *testing.T, h harness) {
	s := h.open(t, store.Options{})
	first := MustAppend(t, s, Keyed("orders", "k1", `1`))[0]
	again := MustAppend(t, s, Keyed("orders", "k1", `2`))[0]
	if !again.Duplicate || again.Event.ID != first.Event.ID || again.Event.Topic != "orders" {
		t.Fatalf("repeat = %+v, want duplicate of id %d", again, first.Event.ID)
	}
	if !again.Event.Time.Equal(first.Event.Time) || again.Event.Type != first.Event.Type {
		t.Fatalf("duplicate answered %+v, want the original %+v", again.Event, first.Event)
	}
	if h, err := s.Head(context.Background()); err != nil || h != first.Event.ID {
		t.Fatalf("head after a duplicate = %d, %v; want %d", h, err, first.Event.ID)
	}
	other := MustAppend(t, s, Keyed("payments", "k1", `3`))[0]
	if other.Duplicate {
		t.Fatal("same key on another topic was answered as a duplicate")
	}

	t.Run("within one batch", func(t *testing.T) {
		res := MustAppend(t, s, Keyed("x", "dup", `1`), Keyed("x", "dup", `2`), In("x", `3`))
		if res[0].Duplicate || !res[1].Duplicate || res[1].Event.ID != res[0].Event.ID || res[2].Duplicate {
			t.Fatalf("results = %+v", res)
		}
		if res[2].Event.ID != res[0].Event.ID+1 {
			t.Fatalf("ids %d then %d: a duplicate consumed an id", res[0].Event.ID, res[2].Event.ID)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		got := make([]store.Result, 8)
		for i := range got {
			wg.Go(func() { got[i] = MustAppend(t, s, Keyed("y", "same", fmt.Sprint(i)))[0] })
		}
		wg.Wait()
		CheckOneStored(t, "same", got)
	})
	t.Run("key free again after pruning", func(t *testing.T) {
		s := h.open(t, store.Options{MaxEventsPerTopic: 1})
		a := MustAppend(t, s, Keyed("t", "once", `1`))[0]
		MustAppend(t, s, In("t", `2`))
		if _, err := s.Prune(context.Background()); err != nil {
			t.Fatal(err)
		}
		b := MustAppend(t, s, Keyed("t", "once", `3`))[0]
		if b.Duplicate || b.Event.ID <= a.Event.ID {
			t.Fatalf("after pruning got %+v, want a new event", b)
		}
	})
}

func testAppendRejectsBadBatchSize(t *testing.T, h harness) {
	s := h.open(t, store.Options{})
	if _, err := s.Append(context.Background(), nil); err == nil {
		t.Error("empty batch accepted")
	}
	big := make([]store.Input, store.MaxBatch+1)
	for i := range big {
		big[i] = In("t", "1")
	}
	if _, err := s.Append(context.Background(), big); err == nil {
		t.Error("oversized batch accepted")
	}
	if h, _ := s.Head(context.Background()); h != 0 {
		t.Errorf("head = %d after refused batches, want 0", h)
	}
}

func testRestartKeepsIDsAndHistory(t *testing.T, h harness) {
	s, reopen := h.openAt(t, store.Options{MaxEventsPerTopic: 2})
	for i := range 5 {
		MustAppend(t, s, In("t", fmt.Sprint(i)))
	}
	// Prune everything but two, then more: the ids must still go on.
	if _, err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	s2 := reopen(store.Options{MaxEventsPerTopic: 2})
	if h, err := s2.Head(context.Background()); err != nil || h != 5 {
		t.Fatalf("head after restart = %d, %v; want 5", h, err)
	}
	r := MustAppend(t, s2, In("t", `"after"`))
	if r[0].Event.ID != 6 {
		t.Fatalf("id after restart = %d, want 6", r[0].Event.ID)
	}
	p, err := s2.ReadAfter(context.Background(), []string{"t"}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(IDs(p.Events)), "[4 5 6]"; got != want {
		t.Fatalf("history = %s, want %s", got, want)
	}
}

func testIDsNeverReusedAfterEverythingPruned(t *testing.T, h harness) {
	s, reopen := h.openAt(t, store.Options{Retention: time.Millisecond})
	MustAppend(t, s, In("t", "1"), In("t", "2"))
	WaitPruned(t, s, 2)
	s.Close(context.Background())

	s2 := reopen(store.Options{})
	if r := MustAppend(t, s2, In("t", "3")); r[0].Event.ID != 3 {
		t.Fatalf("id = %d, want 3: an id was reused", r[0].Event.ID)
	}
}

// WaitPruned prunes until n events were deleted (retention needs the clock
// to move past the commit time).
func WaitPruned(t testing.TB, s store.Log, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
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

func testResets(t *testing.T, h harness) {
	ctx := context.Background()
	rec := NewRecorder()
	s := h.open(t, store.Options{MaxEventsPerTopic: 3, OnPrune: rec.OnPrune})
	// ids: a=1..5, b=6, a=7
	for i := range 5 {
		MustAppend(t, s, In("a", fmt.Sprint(i)))
	}
	MustAppend(t, s, In("b", `"b"`))
	MustAppend(t, s, In("a", `"late"`))
	if n, err := s.Prune(ctx); err != nil || n != 3 {
		t.Fatalf("pruned %d, %v; want 3 (ids 1..3 of a)", n, err)
	}
	rec.WaitFor(t, "OnPrune(3)", func(r *Recorder) bool { return r.Pruned() == 3 })

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
			if got := fmt.Sprint(IDs(p.Events)); got != tt.ids {
				t.Errorf("ids = %s, want %s", got, tt.ids)
			}
			if p.Cursor != 7 {
				t.Errorf("cursor = %d, want the head 7", p.Cursor)
			}
		})
	}

	t.Run("expired with a limit", func(t *testing.T) {
		p, err := s.ReadAfter(ctx, []string{"a"}, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if p.Reset != store.ResetExpired || p.ResetCursor != 3 || fmt.Sprint(IDs(p.Events)) != "[4]" || !p.More || p.Cursor != 4 {
			t.Fatalf("page = %+v, want expired at 3, event 4, more", p)
		}
	})
	t.Run("expired with nothing retained continues at head", func(t *testing.T) {
		s := h.open(t, store.Options{Retention: time.Millisecond})
		MustAppend(t, s, In("z", "1"), In("z", "2"), In("z", "3"))
		WaitPruned(t, s, 3)
		p, err := s.ReadAfter(ctx, []string{"z"}, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		if p.Reset != store.ResetExpired || p.ResetCursor != 3 || len(p.Events) != 0 {
			t.Fatalf("page = %+v, want expired at head 3", p)
		}
	})
}

func testPruneChunksAndCounts(t *testing.T, h harness) {
	rec := NewRecorder()
	s := h.open(t, store.Options{MaxEventsPerTopic: 100, OnPrune: rec.OnPrune})
	batch := make([]store.Input, 1000)
	for i := range batch {
		batch[i] = In("big", fmt.Sprint(i))
	}
	for range 3 {
		MustAppend(t, s, batch...)
	}
	n, err := s.Prune(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 2900 {
		t.Fatalf("pruned %d, want 2900", n)
	}
	rec.WaitFor(t, "OnPrune(2900)", func(r *Recorder) bool { return r.Pruned() >= 2900 })
	if got := rec.Pruned(); got != 2900 {
		t.Errorf("OnPrune saw %d, want 2900", got)
	}
	// The count is kept right: a second prune has nothing to do.
	if n, err := s.Prune(context.Background()); err != nil || n != 0 {
		t.Fatalf("second prune deleted %d, %v; want 0", n, err)
	}
	MustAppend(t, s, In("big", "1"))
	if n, err := s.Prune(context.Background()); err != nil || n != 1 {
		t.Fatalf("third prune deleted %d, %v; want 1", n, err)
	}
}

func testCloseCommitsQueuedAndRefusesNew(t *testing.T, h harness) {
	s, reopen := h.openAt(t, store.Options{})
	var wg sync.WaitGroup
	acked := make(chan int64, 1000)
	for i := range 200 {
		wg.Go(func() {
			if r, err := s.Append(context.Background(), []store.Input{In("t", fmt.Sprint(i))}); err == nil {
				acked <- r[0].Event.ID
			}
		})
	}
	wg.Wait()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(acked)
	if _, err := s.Append(context.Background(), []store.Input{In("t", "1")}); err != store.ErrClosed {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}

	s2 := reopen(store.Options{})
	p, err := s2.ReadAfter(context.Background(), []string{"t"}, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]bool{}
	for _, e := range p.Events {
		stored[e.ID] = true
	}
	n := 0
	for id := range acked {
		n++
		if !stored[id] {
			t.Errorf("acknowledged id %d missing after reopen", id)
		}
	}
	if n != 200 {
		t.Errorf("%d of 200 appends acknowledged before Close", n)
	}
}

func testPing(t *testing.T, h harness) {
	s := h.open(t, store.Options{})
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Fatal("ping on a closed store succeeded")
	}
}

// Dump reads everything a store holds through Export.
func Dump(t testing.TB, s store.Log) (store.Marks, []store.Record) {
	t.Helper()
	ex, ok := s.(store.Exporter)
	if !ok {
		t.Fatalf("%T cannot export", s)
	}
	var m store.Marks
	var recs []store.Record
	err := ex.Export(context.Background(), func(mk store.Marks, events iter.Seq2[[]store.Record, error]) error {
		m = mk
		for page, err := range events {
			if err != nil {
				return err
			}
			recs = append(recs, page...)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return m, recs
}

// Fill writes a store whose copy must keep everything: keys, data, times,
// pruned marks on some topics, and a head above every retained event.
func Fill(t testing.TB, s store.Log) {
	t.Helper()
	for i := range 40 {
		in := In([]string{"a", "b", "c"}[i%3], fmt.Sprintf(`{"i":%d}`, i))
		if i%4 == 0 {
			in.Key = fmt.Sprintf("k%d", i)
		}
		in.Type = fmt.Sprintf("type.%d", i%2)
		MustAppend(t, s, in)
	}
	MustAppend(t, s, In("d", "1"), In("d", "2"))
	// With a cap of 10: a keeps 10 of 14 events, b and c 10 of 13, d both.
	if _, err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// CheckCopy checks that dst holds exactly what src held and answers
// cursors the same way.
func CheckCopy(t testing.TB, src, dst store.Log) {
	t.Helper()
	wantMarks, want := Dump(t, src)
	gotMarks, got := Dump(t, dst)
	if fmt.Sprint(gotMarks) != fmt.Sprint(wantMarks) {
		t.Errorf("marks = %+v, want %+v", gotMarks, wantMarks)
	}
	if len(got) != len(want) {
		t.Fatalf("copied %d events, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Topic != w.Topic || g.Type != w.Type || g.Key != w.Key || string(g.Data) != string(w.Data) || !g.Time.Equal(w.Time) {
			t.Fatalf("event %d = %+v, want %+v", i, g, w)
		}
	}
	ctx := context.Background()
	for _, topics := range [][]string{{"a"}, {"b", "c"}, {"d"}, {"a", "d"}} {
		for _, cursor := range []int64{0, 1, 5, 20, 41, 42, 43, 100} {
			pw, err := src.ReadAfter(ctx, topics, cursor, 5)
			if err != nil {
				t.Fatal(err)
			}
			pg, err := dst.ReadAfter(ctx, topics, cursor, 5)
			if err != nil {
				t.Fatal(err)
			}
			if pg.Reset != pw.Reset || pg.ResetCursor != pw.ResetCursor || pg.Cursor != pw.Cursor || pg.More != pw.More || fmt.Sprint(IDs(pg.Events)) != fmt.Sprint(IDs(pw.Events)) {
				t.Errorf("topics %v cursor %d: copy answers %+v, original %+v", topics, cursor, pg, pw)
			}
		}
	}
	dup := MustAppend(t, dst, Keyed("a", "k36", `"again"`))[0]
	if !dup.Duplicate {
		t.Errorf("key k36 not kept: %+v", dup)
	}
	next := MustAppend(t, dst, In("a", `"next"`))[0]
	if next.Event.ID != wantMarks.Head+1 {
		t.Errorf("next id on the copy = %d, want %d", next.Event.ID, wantMarks.Head+1)
	}
}

func testCopyKeepsEverything(t *testing.T, h harness) {
	src := h.open(t, store.Options{MaxEventsPerTopic: 10})
	Fill(t, src)
	dst := h.open(t, store.Options{MaxEventsPerTopic: 10})
	if _, err := store.Copy(context.Background(), dst.(store.Importer), src.(store.Exporter)); err != nil {
		t.Fatal(err)
	}
	CheckCopy(t, src, dst)
}

// testCopyKeepsPrunedPast copies a store whose topics were pruned empty:
// the copy still resets a cursor below what such a topic lost.
func testCopyKeepsPrunedPast(t *testing.T, h harness) {
	src := h.open(t, store.Options{Retention: time.Millisecond})
	FillPruned(t, src)
	dst := h.open(t, store.Options{Retention: time.Millisecond})
	if _, err := store.Copy(context.Background(), dst.(store.Importer), src.(store.Exporter)); err != nil {
		t.Fatal(err)
	}
	CheckPrunedPast(t, src, dst)
}

func testPrunedMark(t *testing.T, h harness) {
	s := h.open(t, store.Options{Retention: time.Millisecond})
	if p, err := s.Pruned(context.Background()); err != nil || p != 0 {
		t.Fatalf("pruned mark of a new store = %d, %v; want 0", p, err)
	}
	FillPruned(t, s)
	if p, err := s.Pruned(context.Background()); err != nil || p != 3 {
		t.Fatalf("pruned mark after pruning ids 1..3 = %d, %v; want 3", p, err)
	}
}

// FillPruned stores three events on two topics (ids 1 and 2 on "gone",
// 3 on "other") in a store with a short retention, and prunes them all.
func FillPruned(t testing.TB, s store.Log) {
	t.Helper()
	MustAppend(t, s, In("gone", "1"), In("gone", "2"), In("other", "3"))
	WaitPruned(t, s, 3)
}

// CheckPrunedPast checks that dst, a copy of a store filled by
// FillPruned, answers every cursor as the original does, and that a cursor
// below what "gone" lost is reset.
func CheckPrunedPast(t testing.TB, src, dst store.Log) {
	t.Helper()
	ctx := context.Background()
	for _, topics := range [][]string{{"gone"}, {"other"}, {"never"}, {"gone", "other"}} {
		for cursor := range int64(5) {
			want, err := src.ReadAfter(ctx, topics, cursor, 5)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dst.ReadAfter(ctx, topics, cursor, 5)
			if err != nil {
				t.Fatal(err)
			}
			if got.Reset != want.Reset || got.ResetCursor != want.ResetCursor || got.Cursor != want.Cursor || len(got.Events) != len(want.Events) {
				t.Errorf("topics %v cursor %d: copy answers %+v, original %+v", topics, cursor, got, want)
			}
		}
	}
	if p, err := dst.ReadAfter(ctx, []string{"gone"}, 1, 5); err != nil || p.Reset != store.ResetExpired {
		t.Errorf("copy, cursor 1 on a topic pruned through id 2: %+v, %v; want %s", p, err, store.ResetExpired)
	}
}

func testImportRefusesNonEmpty(t *testing.T, h harness) {
	src := h.open(t, store.Options{})
	MustAppend(t, src, In("a", "1"))
	dst := h.open(t, store.Options{})
	MustAppend(t, dst, In("b", "1"))
	if _, err := store.Copy(context.Background(), dst.(store.Importer), src.(store.Exporter)); err == nil {
		t.Fatal("copy into a store holding events succeeded")
	}
	if _, recs := Dump(t, dst); len(recs) != 1 || recs[0].Topic != "b" {
		t.Fatalf("target after a refused copy holds %+v", recs)
	}
}

// topicNames renders a topic list as "topic:events:first-last" items.
func topicNames(list []store.TopicInfo) string {
	var b strings.Builder
	for i, ti := range list {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d:%d-%d", ti.Topic, ti.Events, ti.FirstID, ti.LastID)
	}
	return b.String()
}

func testTopics(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t, store.Options{MaxEventsPerTopic: 2})
	// ids: orders 1,2,5; room.a 3; room.b 4,6; user:1 7; room 8
	MustAppend(t, s, In("orders", "1"), In("orders", "2"))
	MustAppend(t, s, In("room.a", "3"))
	MustAppend(t, s, In("room.b", "4"))
	MustAppend(t, s, In("orders", "5"))
	MustAppend(t, s, In("room.b", "6"))
	MustAppend(t, s, In("user:1", "7"))
	MustAppend(t, s, In("room", "8"))

	tests := []struct {
		name          string
		prefix, after string
		limit         int
		want          string
	}{
		{name: "all in name order", limit: 100, want: "orders:3:1-5 room:1:8-8 room.a:1:3-3 room.b:2:4-6 user:1:1:7-7"},
		{name: "limit", limit: 2, want: "orders:3:1-5 room:1:8-8"},
		{name: "after", after: "room", limit: 2, want: "room.a:1:3-3 room.b:2:4-6"},
		{name: "after a name that is not a topic", after: "p", limit: 1, want: "room:1:8-8"},
		{name: "after the last", after: "user:1", limit: 10}, // none
		{name: "prefix", prefix: "room", limit: 10, want: "room:1:8-8 room.a:1:3-3 room.b:2:4-6"},
		{name: "prefix with a dot", prefix: "room.", limit: 10, want: "room.a:1:3-3 room.b:2:4-6"},
		{name: "prefix and after", prefix: "room.", after: "room.a", limit: 10, want: "room.b:2:4-6"},
		{name: "after below the prefix", prefix: "room.", after: "a", limit: 10, want: "room.a:1:3-3 room.b:2:4-6"},
		{name: "prefix matching nothing", prefix: "zzz", limit: 10}, // none
		{name: "whole name as prefix", prefix: "orders", limit: 10, want: "orders:3:1-5"},
		{name: "zero limit", limit: 0}, // none
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, head, err := s.Topics(ctx, tt.prefix, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := topicNames(list); got != tt.want {
				t.Errorf("topics = %q, want %q", got, tt.want)
			}
			if head != 8 {
				t.Errorf("head = %d, want 8", head)
			}
		})
	}

	t.Run("last time is the commit time of the last event", func(t *testing.T) {
		res := MustAppend(t, s, In("timed", "1"))
		list, _, err := s.Topics(ctx, "timed", "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || !list[0].LastTime.Equal(res[0].Event.Time) || list[0].LastTime.Location() != time.UTC {
			t.Fatalf("got %+v, want last time %v in UTC", list, res[0].Event.Time)
		}
	})
}

func testTopicsAfterPruning(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t, store.Options{MaxEventsPerTopic: 2})
	for i := range 5 {
		MustAppend(t, s, In("capped", fmt.Sprint(i)))
	}
	if n, err := s.Prune(ctx); err != nil || n != 3 {
		t.Fatalf("pruned %d, %v; want 3", n, err)
	}
	list, head, err := s.Topics(ctx, "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := topicNames(list), "capped:2:4-5"; got != want || head != 5 {
		t.Fatalf("topics = %q head %d, want %q head 5", got, head, want)
	}

	t.Run("a topic with nothing retained is not listed", func(t *testing.T) {
		s := h.open(t, store.Options{Retention: time.Millisecond})
		MustAppend(t, s, In("gone", "1"), In("gone", "2"))
		WaitPruned(t, s, 2)
		list, head, err := s.Topics(ctx, "", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 0 || head != 2 {
			t.Fatalf("topics = %q head %d, want none and head 2", topicNames(list), head)
		}
	})
}

func testTopicsEmptyStore(t *testing.T, h harness) {
	s := h.open(t, store.Options{})
	list, head, err := s.Topics(context.Background(), "", "", 100)
	if err != nil || len(list) != 0 || head != 0 {
		t.Fatalf("got %v head %d err %v, want nothing, head 0", list, head, err)
	}
}
