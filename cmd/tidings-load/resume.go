package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tidings/tidings/cmd/tidings-load/internal/stats"
	"github.com/tidings/tidings/store"
)

type resumeRow struct {
	Events    int             `json:"events"`
	Topics    int             `json:"topics"`
	Behind    int             `json:"events_behind_per_topic"`
	DBBytes   int64           `json:"db_bytes"`
	StartupMS float64         `json:"startup_ms"`
	P50       float64         `json:"p50_ms"`
	P99       float64         `json:"p99_ms"`
	Max       float64         `json:"max_ms"`
	Runs      []stats.Latency `json:"runs"`
}

// perTopic is the depth of every topic of the generated stores, so a
// small and a large store differ only in how many topics they hold.
const perTopic = 1000

func (o *options) runResume(ctx context.Context, rep *report) error {
	if o.addr != "" {
		logf("resume-at-scale: skipped: it starts a server on a generated store")
		return nil
	}
	sizes := []int{10_000, o.events}
	if o.events <= 10_000 {
		sizes = sizes[1:]
	}
	for _, n := range sizes {
		path, err := generatedStore(ctx, n)
		if err != nil {
			return err
		}
		fi, _ := os.Stat(path)
		// Nothing may be pruned while measuring, however old the cached
		// store is.
		srv, err := o.startTidings(ctx, path, "TIDINGS_RETENTION=876000h", "TIDINGS_MAX_EVENTS_PER_TOPIC=100000000", "TIDINGS_PRUNE_INTERVAL=24h")
		if err != nil {
			return err
		}
		topics := max(1, n/perTopic)
		row := &resumeRow{Events: n, Topics: topics, Behind: 50, DBBytes: fi.Size(), StartupMS: stats.Millis(srv.startup)}
		var p50, p99, mx []float64
		for run := 1; run <= o.runs; run++ {
			l, err := driveResume(ctx, srv.base, int64(n), topics, row.Behind, o.resumeReqs)
			if err != nil {
				srv.stop()
				return err
			}
			logf("resume at %d events run %d: p50 %.2fms p99 %.2fms max %.2fms", n, run, l.P50, l.P99, l.Max)
			row.Runs = append(row.Runs, l)
			p50, p99, mx = append(p50, l.P50), append(p99, l.P99), append(mx, l.Max)
		}
		srv.stop()
		row.P50, row.P99, row.Max = stats.Median(p50), stats.Median(p99), stats.Median(mx)
		rep.Resume = append(rep.Resume, row)
	}
	return nil
}

// driveResume sends reqs sequential polls, each on a random topic with a
// cursor `behind` of that topic's events back from the head (ids are
// assigned round robin over topics, so that is behind*topics ids back).
func driveResume(ctx context.Context, base string, head int64, topics, behind, reqs int) (stats.Latency, error) {
	client := newClient(1)
	defer client.CloseIdleConnections()
	lat := make([]time.Duration, 0, reqs)
	for range reqs {
		t := rand.IntN(topics)
		cursor := max(0, head-int64(behind*topics)-int64(rand.IntN(topics)))
		u := fmt.Sprintf("%s/v1/topics/%s/poll?cursor=%d&timeout=0&limit=100", base, topicName(t), cursor)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return stats.Latency{}, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if err != nil || resp.StatusCode != http.StatusOK {
			return stats.Latency{}, fmt.Errorf("resume poll: status %d, %v", resp.StatusCode, err)
		}
		lat = append(lat, d)
	}
	return stats.Summarize(lat), nil
}

func topicName(i int) string { return "topic-" + strconv.Itoa(i) }

// generatedStore returns a store of n events over n/perTopic topics (ids
// round robin over the topics, as interleaved publishers would leave
// them), generating it once under the temporary folder and reusing it.
// It is built with the store's own migrations, then filled with raw SQL
// in one transaction per 100,000 rows; the (topic, id) index is built at
// the end, which is much faster than maintaining it row by row.
func generatedStore(ctx context.Context, n int) (string, error) {
	dir := filepath.Join(os.TempDir(), "tidings-load-cache")
	path := filepath.Join(dir, fmt.Sprintf("resume-%d.db", n))
	marker := path + ".done"
	if _, err := os.Stat(marker); err == nil {
		return path, nil
	}
	for _, suffix := range []string{"", "-wal", "-shm", ".done"} {
		os.Remove(path + suffix)
	}
	logf("generating a store of %d events at %s (cached for later runs)", n, path)
	start := time.Now()
	st, err := store.Open(path, store.Options{})
	if err != nil {
		return "", err
	}
	if err := st.Close(ctx); err != nil {
		return "", err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return "", err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `DROP INDEX events_topic_id`); err != nil {
		return "", err
	}
	topics := max(1, n/perTopic)
	now := time.Now().UnixMilli()
	const chunk = 100_000
	for lo := 0; lo < n; lo += chunk {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return "", err
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO events (id, topic, type, data, time) VALUES (?, ?, 'message', ?, ?)`)
		if err != nil {
			tx.Rollback()
			return "", err
		}
		var data []byte
		for i := lo; i < min(n, lo+chunk); i++ {
			data = strconv.AppendInt(append(data[:0], `{"n":`...), int64(i), 10)
			data = append(data, '}')
			if _, err := ins.ExecContext(ctx, i+1, topicName(i%topics), data, now); err != nil {
				tx.Rollback()
				return "", err
			}
		}
		ins.Close()
		if err := tx.Commit(); err != nil {
			return "", err
		}
		if lo/chunk%10 == 9 {
			logf("  %d events", lo+chunk)
		}
	}
	stmts := []string{
		`CREATE INDEX events_topic_id ON events (topic, id)`,
		`INSERT INTO topics (topic, count) SELECT topic, count(*) FROM events GROUP BY topic`,
		`PRAGMA wal_checkpoint(TRUNCATE)`,
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	var seq int64
	if err := db.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'events'`).Scan(&seq); err != nil || seq != int64(n) {
		return "", fmt.Errorf("generated store's sequence is %d (%v), want %d", seq, err, n)
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		return "", err
	}
	logf("generated %d events in %s", n, time.Since(start).Round(time.Second))
	return path, nil
}
