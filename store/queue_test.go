package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/tidings/tidings/store"
)

// TestCommitQueueBatchesInOrder queues requests before the writer starts:
// one commit takes them all in queue order, each caller gets the answer
// commit gave it, and Run returns once the closed queue is drained.
func TestCommitQueueBatchesInOrder(t *testing.T) {
	t.Parallel()
	q := store.NewCommitQueue(16)
	var reqs []*store.AppendRequest
	for i := range 5 {
		req := store.NewAppendRequest([]store.Input{{Topic: fmt.Sprint(i)}, {Topic: fmt.Sprint(i)}})
		if err := q.Enqueue(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, req)
	}
	if !q.Close() || q.Close() {
		t.Fatal("Close reported wrong: want true once, then false")
	}
	var batches [][]string
	var sizes []int
	q.Run(func(batch []*store.AppendRequest, n int) {
		var topics []string
		for _, r := range batch {
			topics = append(topics, r.Inputs[0].Topic)
			r.Results = []store.Result{{Event: store.Event{Topic: r.Inputs[0].Topic}}}
			r.Done()
		}
		batches = append(batches, topics)
		sizes = append(sizes, n)
	})
	if len(batches) != 1 || !slices.Equal(batches[0], []string{"0", "1", "2", "3", "4"}) || sizes[0] != 10 {
		t.Fatalf("batches %v of %v events, want one of 0..4 with 10", batches, sizes)
	}
	for i, r := range reqs {
		res, err := r.Wait(context.Background())
		if err != nil || len(res) != 1 || res[0].Event.Topic != fmt.Sprint(i) {
			t.Fatalf("request %d answered %+v, %v", i, res, err)
		}
	}
}

// answerAll is a commit function that answers every request with one
// result per input, and records the batch sizes in requests.
func answerAll(sizes *[]int) func([]*store.AppendRequest, int) {
	return func(batch []*store.AppendRequest, n int) {
		for _, r := range batch {
			r.Results = make([]store.Result, len(r.Inputs))
			r.Done()
		}
		*sizes = append(*sizes, len(batch))
	}
}

// TestCommitQueueLoneCallerNeverLingers: appends made one after another
// are committed one by one, and the writer never waits for more.
func TestCommitQueueLoneCallerNeverLingers(t *testing.T) {
	t.Parallel()
	q := store.NewCommitQueue(16)
	lingered := 0
	store.OnLinger(q, func() { lingered++ })
	var sizes []int
	done := make(chan struct{})
	go func() {
		q.Run(answerAll(&sizes))
		close(done)
	}()
	for range 20 {
		if _, err := q.Append(context.Background(), []store.Input{{Topic: "t"}}); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	<-done
	if lingered != 0 || len(sizes) != 20 {
		t.Fatalf("20 sequential appends: %d commits, lingered %d times; want 20 and 0", len(sizes), lingered)
	}
}

// TestCommitQueueLingersWhenCallersOverlap: after a commit of LingerAfter
// requests or more, a commit that has fewer waits, and takes what is
// queued meanwhile; it waits at most Linger for what does not come. After
// a smaller commit it does not wait.
func TestCommitQueueLingersWhenCallersOverlap(t *testing.T) {
	t.Parallel()
	q := store.NewCommitQueue(16)
	ctx := context.Background()
	enqueue := func(k int) {
		for range k {
			if err := q.Enqueue(ctx, store.NewAppendRequest([]store.Input{{Topic: "t"}})); err != nil {
				t.Error(err)
			}
		}
	}
	lingered := 0
	store.OnLinger(q, func() {
		lingered++
		if lingered == 1 {
			enqueue(store.LingerAfter - 1) // arrive while the writer waits
		}
	})
	enqueue(store.LingerAfter)
	var sizes []int
	commit := answerAll(&sizes)
	q.Run(func(batch []*store.AppendRequest, n int) {
		commit(batch, n)
		switch len(sizes) {
		case 1, 2:
			enqueue(1) // the second time, alone until Linger passes
		case 3:
			// After a commit of one, a commit of fewer does not wait.
			enqueue(store.LingerAfter - 1)
		case 4:
			enqueue(1)
		case 5:
			q.Close()
		}
	})
	k := store.LingerAfter
	if want := []int{k, k, 1, k - 1, 1}; !slices.Equal(sizes, want) || lingered != 2 {
		t.Fatalf("commits of %v requests after lingering %d times; want %v after 2", sizes, lingered, want)
	}
}

// TestCommitQueueRefuses: a batch of the wrong size and an append after
// Close are refused without reaching the writer; a failed commit answers
// the error and no results.
func TestCommitQueueRefuses(t *testing.T) {
	t.Parallel()
	q := store.NewCommitQueue(4)
	ctx := context.Background()
	if _, err := q.Append(ctx, nil); err == nil {
		t.Fatal("empty batch accepted")
	}
	if _, err := q.Append(ctx, make([]store.Input, store.MaxBatch+1)); err == nil {
		t.Fatal("oversized batch accepted")
	}
	boom := errors.New("boom")
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Run(func(batch []*store.AppendRequest, n int) {
			for _, r := range batch {
				r.Results = []store.Result{{}}
				r.Fail(boom)
			}
		})
	}()
	if res, err := q.Append(ctx, []store.Input{{Topic: "t"}}); !errors.Is(err, boom) || res != nil {
		t.Fatalf("failed commit answered %v, %v; want nil, boom", res, err)
	}
	q.Close()
	<-done
	if !q.Closed() {
		t.Fatal("Closed is false after Close")
	}
	if _, err := q.Append(ctx, []store.Input{{Topic: "t"}}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("append after Close: %v, want ErrClosed", err)
	}
}

// TestDecideReset pins the cursor reset rules both backends share.
func TestDecideReset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		head, cursor          int64
		pruned, first         int64
		reset                 string
		resetCursor, readFrom int64
	}{
		{"from the start", 10, 0, 5, 6, "", 0, 0},
		{"retained", 10, 5, 5, 6, "", 0, 5},
		{"ahead", 10, 12, 0, 0, store.ResetAhead, 10, 10},
		{"expired", 10, 3, 5, 7, store.ResetExpired, 6, 6},
		{"expired, nothing left", 10, 3, 8, 0, store.ResetExpired, 10, 10},
		{"expired, first just after", 10, 3, 5, 4, store.ResetExpired, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := store.Page{Head: tt.head}
			from, err := p.DecideReset(tt.cursor,
				func() (int64, error) { return tt.pruned, nil },
				func() (int64, error) { return tt.first, nil })
			if err != nil || p.Reset != tt.reset || p.ResetCursor != tt.resetCursor || from != tt.readFrom {
				t.Fatalf("reset %q at %d, read from %d, %v; want %q at %d, from %d",
					p.Reset, p.ResetCursor, from, err, tt.reset, tt.resetCursor, tt.readFrom)
			}
		})
	}
}
