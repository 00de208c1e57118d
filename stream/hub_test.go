package stream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// newHub wires a real store and a hub as the server does: commits and
// prunes flow from the store to the hub, reads below the tail back.
func newHub(t *testing.T, opts store.Options, ho stream.HubOptions) (*stream.Hub, *store.Store) {
	t.Helper()
	hub := stream.NewHub(ho)
	opts.OnCommit = hub.Committed
	opts.OnPrune = hub.Pruned
	if opts.PruneInterval == 0 {
		opts.PruneInterval = time.Hour
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "t.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	if err := hub.Attach(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return hub, st
}

func publish(t *testing.T, st *store.Store, topics ...string) {
	t.Helper()
	in := make([]store.Input, len(topics))
	for i, tp := range topics {
		in[i] = store.Input{Topic: tp, Type: "message", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
	}
	if _, err := st.Append(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

func batchIDs(b stream.Batch) string {
	ids := make([]int64, len(b.Events))
	for i, e := range b.Events {
		ids[i] = e.ID
	}
	return fmt.Sprint(ids)
}

func TestHubWakesOnlyAffectedTopics(t *testing.T) {
	t.Parallel()
	hub, st := newHub(t, store.Options{}, stream.HubOptions{})
	a, err := hub.Subscribe([]string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := hub.Subscribe([]string{"b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	publish(t, st, "c")
	select {
	case <-b.C:
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber of c was not woken")
	}
	select {
	case <-a.C:
		t.Fatal("subscriber of a was woken by an event on c")
	default:
	}
	// Many commits while a subscriber is away leave one pending signal.
	publish(t, st, "a")
	publish(t, st, "a")
	<-a.C
	select {
	case <-a.C:
		t.Fatal("wake signals piled up")
	default:
	}
}

func TestHubReadsTailThenStore(t *testing.T) {
	t.Parallel()
	hub, st := newHub(t, store.Options{}, stream.HubOptions{TailEvents: 4})
	for range 10 {
		publish(t, st, "x", "y")
	}
	ctx := context.Background()
	tests := []struct {
		name   string
		topics []string
		cursor int64
		limit  int
		ids    string
		more   bool
		next   int64
	}{
		{"in the tail", []string{"x"}, 17, 10, "[19]", false, 20},
		{"in the tail, both", []string{"x", "y"}, 16, 10, "[17 18 19 20]", false, 20},
		{"tail with limit", []string{"x", "y"}, 16, 2, "[17 18]", true, 18},
		{"older than the tail", []string{"y"}, 0, 3, "[2 4 6]", true, 6},
		{"older than the tail to the end", []string{"x"}, 12, 10, "[13 15 17 19]", false, 20},
		{"nothing new", []string{"x"}, 20, 10, "[]", false, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hub.Read(ctx, tt.topics, tt.cursor, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := batchIDs(b); got != tt.ids || b.More != tt.more || b.Cursor != tt.next {
				t.Errorf("read = %s more %v cursor %d, want %s %v %d", got, b.More, b.Cursor, tt.ids, tt.more, tt.next)
			}
		})
	}
}

func TestHubPrunedSendsOldReadsToStore(t *testing.T) {
	t.Parallel()
	hub, st := newHub(t, store.Options{MaxEventsPerTopic: 2}, stream.HubOptions{})
	for range 5 {
		publish(t, st, "p")
	}
	if _, err := st.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := hub.Read(context.Background(), []string{"p"}, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if b.Reset != store.ResetExpired || b.ResetCursor != 3 || batchIDs(b) != "[4 5]" {
		t.Fatalf("read = reset %q %d ids %s, want cursor_expired 3 [4 5]", b.Reset, b.ResetCursor, batchIDs(b))
	}
	// Cursors at or above the pruned ids are still served, without reset.
	b, err = hub.Read(context.Background(), []string{"p"}, 3, 10)
	if err != nil || b.Reset != "" || batchIDs(b) != "[4 5]" {
		t.Fatalf("read = %+v, %v", b, err)
	}
}

func TestHubAheadCursorGoesToStore(t *testing.T) {
	t.Parallel()
	hub, st := newHub(t, store.Options{}, stream.HubOptions{})
	publish(t, st, "a")
	b, err := hub.Read(context.Background(), []string{"a"}, 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if b.Reset != store.ResetAhead || b.ResetCursor != 1 {
		t.Fatalf("reset = %q %d, want cursor_ahead 1", b.Reset, b.ResetCursor)
	}
}

func TestHubSubscriberLimitAndStop(t *testing.T) {
	t.Parallel()
	hub, _ := newHub(t, store.Options{}, stream.HubOptions{MaxSubscribers: 2})
	s1, _ := hub.Subscribe([]string{"a"})
	s2, _ := hub.Subscribe([]string{"a"})
	if _, err := hub.Subscribe([]string{"a"}); !errors.Is(err, stream.ErrOverloaded) {
		t.Fatalf("third subscribe: %v, want ErrOverloaded", err)
	}
	s1.Close()
	s1.Close() // twice is harmless
	if got := hub.Active(); got != 1 {
		t.Fatalf("active = %d, want 1", got)
	}
	s3, err := hub.Subscribe([]string{"a"})
	if err != nil {
		t.Fatalf("subscribe after a close: %v", err)
	}
	hub.Stop()
	select {
	case <-hub.Stopped():
	default:
		t.Fatal("Stopped not closed")
	}
	// Stop wakes every open subscription, which then sees Stopping.
	for _, sub := range []*stream.Subscription{s2, s3} {
		select {
		case <-sub.C:
		default:
			t.Fatal("an open subscription was not woken by Stop")
		}
	}
	if !hub.Stopping() {
		t.Fatal("Stopping() = false after Stop")
	}
	if _, err := hub.Subscribe([]string{"a"}); !errors.Is(err, stream.ErrStopped) {
		t.Fatalf("subscribe after stop: %v, want ErrStopped", err)
	}
	s2.Close()
	s3.Close()
	if got := hub.Active(); got != 0 {
		t.Fatalf("active = %d, want 0", got)
	}
}

// recordingStore answers reads below the tail and records their cursors.
type recordingStore struct {
	head, pruned int64
	reads        []int64
}

func (r *recordingStore) Head(context.Context) (int64, error)   { return r.head, nil }
func (r *recordingStore) Pruned(context.Context) (int64, error) { return r.pruned, nil }

func (r *recordingStore) ReadAfter(_ context.Context, _ []string, cursor int64, _ int) (store.Page, error) {
	r.reads = append(r.reads, cursor)
	return store.Page{Cursor: cursor}, nil
}

func event(id int64) store.Event {
	return store.Event{ID: id, Topic: "t", Type: "message", Data: json.RawMessage(`1`), Time: time.UnixMilli(1)}
}

// A hub attached to a store that pruned before (a restart) knows which
// cursors may be expired without reading the store; prunes reported
// later raise the mark.
func TestHubMayBeExpired(t *testing.T) {
	t.Parallel()
	hub := stream.NewHub(stream.HubOptions{})
	if err := hub.Attach(t.Context(), &recordingStore{head: 10, pruned: 6}); err != nil {
		t.Fatal(err)
	}
	for cursor, want := range map[int64]bool{0: false, 1: true, 5: true, 6: false, 10: false, 11: false} {
		if got := hub.MayBeExpired(cursor); got != want {
			t.Errorf("after attach, MayBeExpired(%d) = %v, want %v", cursor, got, want)
		}
	}
	hub.Pruned(8)
	if !hub.MayBeExpired(7) || hub.MayBeExpired(8) {
		t.Errorf("after a prune through 8: MayBeExpired(7) = %v, (8) = %v; want true, false", hub.MayBeExpired(7), hub.MayBeExpired(8))
	}
}

// A replica may learn of a prune before the commits it follows (the mark
// is above its head): the hub applies the mark together with those
// commits, so a cursor in the pruned range goes to the store (which
// answers with a reset) instead of being served the later events.
func TestHubPrunedMarkAboveHead(t *testing.T) {
	t.Parallel()
	st := &recordingStore{}
	hub := stream.NewHub(stream.HubOptions{})
	if err := hub.Attach(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	hub.Committed([]store.Event{event(1), event(2), event(3)})
	hub.Pruned(5) // 4 and 5 were pruned before this hub read them
	if b, err := hub.Read(t.Context(), []string{"t"}, 3, 10); err != nil || len(b.Events) != 0 || len(st.reads) != 0 {
		t.Fatalf("read at the head before the commits: %+v %v, store reads %v", b, err, st.reads)
	}
	hub.Committed([]store.Event{event(6), event(7)})
	if _, err := hub.Read(t.Context(), []string{"t"}, 3, 10); err != nil {
		t.Fatal(err)
	}
	if len(st.reads) != 1 || st.reads[0] != 3 {
		t.Fatalf("a cursor in the pruned range was served from the tail; store reads %v, want [3]", st.reads)
	}
	b, err := hub.Read(t.Context(), []string{"t"}, 5, 10)
	if err != nil || batchIDs(b) != "[6 7]" {
		t.Fatalf("read after the mark: %s %v, want [6 7] from the tail", batchIDs(b), err)
	}
}

// Commits at or below the head (delivered again by a store that commits
// on its own) are skipped: the head never moves back.
func TestHubHeadNeverMovesBack(t *testing.T) {
	t.Parallel()
	hub := stream.NewHub(stream.HubOptions{})
	if err := hub.Attach(t.Context(), &recordingStore{head: 10}); err != nil {
		t.Fatal(err)
	}
	hub.Committed([]store.Event{event(9), event(10), event(11)})
	if got := hub.Head(); got != 11 {
		t.Fatalf("head: got %d, want 11", got)
	}
	hub.Committed([]store.Event{event(8)})
	if got := hub.Head(); got != 11 {
		t.Fatalf("head after an old commit: got %d, want 11", got)
	}
	b, err := hub.Read(t.Context(), []string{"t"}, 10, 10)
	if err != nil || batchIDs(b) != "[11]" {
		t.Fatalf("read: %s %v, want [11]", batchIDs(b), err)
	}
}
