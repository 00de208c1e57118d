package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/postgres/pgtest"
	"github.com/tidings/tidings/store/storetest"
)

const benchAppenders = 64

var benchData = []byte(`{"order":1234,"status":"paid","amount":"12.50"}`)

// benchDatabase is a fresh database with the store's default pool size.
func benchDatabase(b *testing.B) string {
	return pgtest.WithParam(pgtest.FreshDatabase(b), "pool_max_conns", "")
}

// BenchmarkAppend measures acknowledged appends (committed and handed to
// OnCommit before they return) from 64 concurrent appenders spread over 1
// and 3 store instances on one database, as replicas would be.
func BenchmarkAppend(b *testing.B) {
	for _, replicas := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			dbURL := benchDatabase(b)
			logs := make([]store.Log, replicas)
			for i := range logs {
				logs[i] = storetest.MustOpen(b, opener(dbURL), store.Options{OnCommit: func([]store.Event) {}})
			}
			var next atomic.Int64
			runAppenders(b, func(ctx context.Context) error {
				s := logs[int(next.Add(1))%len(logs)]
				_, err := s.Append(ctx, []store.Input{{Topic: "orders", Type: "message", Data: benchData}})
				return err
			})
		})
	}
}

// BenchmarkBaselineInsert is what plain INSERTs through pgx achieve on the
// same database, without the head lock, key lookups, NOTIFY or delivery:
// per-event, each of the 64 appenders commits its own row; batched, the
// 64 appenders' rows are gathered into one multi-row INSERT per
// transaction, as the store's group commit gathers them.
func BenchmarkBaselineInsert(b *testing.B) {
	setup := func(b *testing.B) *pgxpool.Pool {
		dbURL := benchDatabase(b)
		s := storetest.MustOpen(b, opener(dbURL), store.Options{}) // creates the schema
		s.Close(context.Background())
		pool, err := pgxpool.New(context.Background(), pgtest.WithParam(dbURL, "pool_max_conns", "16"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		return pool
	}
	b.Run("per-event", func(b *testing.B) {
		pool := setup(b)
		var next atomic.Int64
		runAppenders(b, func(ctx context.Context) error {
			_, err := pool.Exec(ctx, `INSERT INTO tidings_events (id, topic, type, data, key, time) VALUES ($1, 'orders', 'message', $2, NULL, 0)`, next.Add(1), benchData)
			return err
		})
	})
	b.Run("batched", func(b *testing.B) {
		pool := setup(b)
		type req struct{ done chan error }
		queue := make(chan req, benchAppenders)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			var next int64
			for {
				var batch []req
				select {
				case r := <-queue:
					batch = append(batch, r)
				case <-stop:
					return
				}
			drain:
				for {
					select {
					case r := <-queue:
						batch = append(batch, r)
					default:
						break drain
					}
				}
				ids := make([]int64, len(batch))
				data := make([][]byte, len(batch))
				for i := range batch {
					next++
					ids[i], data[i] = next, benchData
				}
				_, err := pool.Exec(context.Background(), `INSERT INTO tidings_events (id, topic, type, data, key, time)
					SELECT id, 'orders', 'message', d, NULL, 0 FROM unnest($1::bigint[], $2::bytea[]) AS u(id, d)`, ids, data)
				for _, r := range batch {
					r.done <- err
				}
			}
		})
		defer func() { close(stop); wg.Wait() }()
		runAppenders(b, func(ctx context.Context) error {
			r := req{done: make(chan error, 1)}
			queue <- r
			return <-r.done
		})
	})
}

// runAppenders runs op b.N times from 64 goroutines and reports events/s.
func runAppenders(b *testing.B, op func(context.Context) error) {
	b.Helper()
	var left atomic.Int64
	left.Store(int64(b.N))
	ctx := context.Background()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range benchAppenders {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := op(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkCrossReplicaDelivery measures how long after an append returns
// on replica A the event reaches OnCommit on replica B (ack→B), and from
// the start of the append (publish→B), at p50 and p99. It runs idle and
// while 64 appenders keep A busy.
func BenchmarkCrossReplicaDelivery(b *testing.B) {
	for _, busy := range []bool{false, true} {
		b.Run(fmt.Sprintf("busy=%v", busy), func(b *testing.B) {
			dbURL := benchDatabase(b)
			seen := make(chan int64, 1<<16)
			a := storetest.MustOpen(b, opener(dbURL), store.Options{})
			storetest.MustOpen(b, opener(dbURL), store.Options{OnCommit: func(evs []store.Event) {
				for _, e := range evs {
					if e.Topic == "probe" {
						seen <- e.ID
					}
				}
			}})
			stop := make(chan struct{})
			var wg sync.WaitGroup
			if busy {
				for range benchAppenders {
					wg.Go(func() {
						for {
							select {
							case <-stop:
								return
							default:
							}
							if _, err := a.Append(context.Background(), []store.Input{{Topic: "load", Type: "message", Data: benchData}}); err != nil {
								return
							}
						}
					})
				}
			}
			ack := make([]time.Duration, 0, b.N)
			pub := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				res, err := a.Append(context.Background(), []store.Input{{Topic: "probe", Type: "message", Data: benchData}})
				if err != nil {
					b.Fatal(err)
				}
				acked := time.Now()
				for id := range seen {
					if id >= res[0].Event.ID {
						break
					}
				}
				now := time.Now()
				ack = append(ack, now.Sub(acked))
				pub = append(pub, now.Sub(start))
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			for name, d := range map[string][]time.Duration{"ack→B": ack, "publish→B": pub} {
				slices.Sort(d)
				b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, name+"-p50-ms")
				b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, name+"-p99-ms")
			}
		})
	}
}
