package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
)

// BenchmarkAppend measures acknowledged appends (each durable before it
// returns) with 1 and 64 concurrent publishers. Group commit folds the
// concurrent ones into shared transactions.
func BenchmarkAppend(b *testing.B) {
	for _, publishers := range []int{1, 64} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			var commits commitCounter
			s, _ := mustOpen(b, store.Options{Observer: &commits})
			data := []byte(`{"order":1234,"status":"paid","amount":"12.50"}`)
			b.SetParallelism(max(1, publishers/runtimeProcs()))
			b.ReportAllocs()
			b.ResetTimer()
			if publishers == 1 {
				for range b.N {
					if _, err := s.Append(context.Background(), []store.Input{{Topic: "orders", Type: "message", Data: data}}); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := s.Append(context.Background(), []store.Input{{Topic: "orders", Type: "message", Data: data}}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(commits.events.Load())/float64(max(1, commits.n.Load())), "events/commit")
		})
	}
}

// commitCounter counts group commits and their events.
type commitCounter struct{ n, events atomic.Int64 }

func (c *commitCounter) Commit(events int, _ time.Duration) {
	c.n.Add(1)
	c.events.Add(int64(events))
}
func (c *commitCounter) PrunedEvents(int) {}

// BenchmarkTxPerEvent is the design group commit replaces: every publisher
// commits its own transaction on the one write connection, with the same
// driver and pragmas.
func BenchmarkTxPerEvent(b *testing.B) {
	for _, publishers := range []int{1, 64} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			_, path := mustOpen(b, store.Options{})
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			var next atomic.Int64
			next.Store(1 << 40) // far from the store's own ids
			insert := func() error {
				tx, err := db.Begin()
				if err != nil {
					return err
				}
				defer tx.Rollback()
				if _, err := tx.Exec(`INSERT INTO events (id, topic, type, data, key, time) VALUES (?, 'orders', 'message', ?, NULL, 0)`,
					next.Add(1), []byte(`{"order":1234,"status":"paid","amount":"12.50"}`)); err != nil {
					return err
				}
				return tx.Commit()
			}
			b.SetParallelism(max(1, publishers/runtimeProcs()))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := insert(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkReadAfter resumes 100 events behind on one of 100 topics in logs
// of growing size: the (topic, id) index keeps the cost flat.
func BenchmarkReadAfter(b *testing.B) {
	for _, size := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("events=%d", size), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "tidings.db")
			s := mustOpenAt(b, path, store.Options{MaxEventsPerTopic: size})
			batch := make([]store.Input, store.MaxBatch)
			for done := 0; done < size; done += len(batch) {
				for i := range batch {
					batch[i] = store.Input{Topic: fmt.Sprintf("t%d", (done+i)%100), Type: "message", Data: []byte(`{"n":1}`)}
				}
				mustAppend(b, s, batch...)
			}
			ctx := context.Background()
			cursor := int64(size - 100*100) // 100 events behind on each topic
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				p, err := s.ReadAfter(ctx, []string{fmt.Sprintf("t%d", i%100)}, cursor, 100)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Events) != 100 {
					b.Fatalf("read %d events, want 100", len(p.Events))
				}
			}
		})
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkReadAfterTopics reads a page of 100 events from an old cursor
// across 1 and 64 topics, each holding 500 events of 1 KB: the cost of a
// page should follow the page, not the number of topics.
func BenchmarkReadAfterTopics(b *testing.B) {
	const perTopic, limit = 500, 100
	data := []byte(`"` + strings.Repeat("x", 1024) + `"`)
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("topics=%d", n), func(b *testing.B) {
			s, _ := mustOpen(b, store.Options{MaxEventsPerTopic: perTopic})
			topics := make([]string, n)
			for i := range topics {
				topics[i] = fmt.Sprintf("t%d", i)
			}
			var batch []store.Input
			for i := range perTopic * n {
				batch = append(batch, store.Input{Topic: topics[i%n], Type: "message", Data: data})
				if len(batch) == store.MaxBatch || i == perTopic*n-1 {
					if _, err := s.Append(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				p, err := s.ReadAfter(context.Background(), topics, 0, limit)
				if err != nil || len(p.Events) != limit {
					b.Fatalf("read %d events, %v; want %d", len(p.Events), err, limit)
				}
			}
		})
	}
}
