package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/tidings/tidings/cmd/tidings-load/internal/stats"
	"github.com/tidings/tidings/store"
)

// publishRun is one timed run of P publishers.
type publishRun struct {
	EventsPerSec   float64       `json:"events_per_s"`
	RequestsPerSec float64       `json:"requests_per_s"`
	Latency        stats.Latency `json:"latency"`
	Errors         int           `json:"errors"`
	// ServerCPU is the server's CPU time per acknowledged request, in
	// microseconds, over the measured window; -1 when not measured.
	ServerCPU float64 `json:"server_cpu_us_per_req"`
}

// publishRow is the median of the runs of one configuration.
type publishRow struct {
	Target         string       `json:"target"` // tidings, noop, or compare (--compare-bin)
	Batch          int          `json:"batch"`
	Publishers     int          `json:"publishers"`
	EventsPerSec   float64      `json:"events_per_s"`
	RequestsPerSec float64      `json:"requests_per_s"`
	P50            float64      `json:"p50_ms"`
	P99            float64      `json:"p99_ms"`
	P999           float64      `json:"p999_ms"`
	Errors         int          `json:"errors"`
	ServerCPU      float64      `json:"server_cpu_us_per_req"` // -1 when not measured
	Runs           []publishRun `json:"runs"`
}

func (r *publishRow) summarize() {
	var ev, rq, p50, p99, p999, cpu []float64
	r.Errors = 0
	for _, x := range r.Runs {
		if x.ServerCPU >= 0 {
			cpu = append(cpu, x.ServerCPU)
		}
		ev = append(ev, x.EventsPerSec)
		rq = append(rq, x.RequestsPerSec)
		p50 = append(p50, x.Latency.P50)
		p99 = append(p99, x.Latency.P99)
		p999 = append(p999, x.Latency.P999)
		r.Errors += x.Errors
	}
	r.EventsPerSec, r.RequestsPerSec = stats.Median(ev), stats.Median(rq)
	r.P50, r.P99, r.P999 = stats.Median(p50), stats.Median(p99), stats.Median(p999)
	r.ServerCPU = -1
	if len(cpu) > 0 {
		r.ServerCPU = stats.Median(cpu)
	}
}

// sqliteRow is the raw-insert baseline.
type sqliteRow struct {
	RowsPerTx  int       `json:"rows_per_tx"`
	RowsPerSec float64   `json:"rows_per_s"`
	Runs       []float64 `json:"runs"`
}

// pruneOff pushes pruning out of the way so the runs measure the write path.
const pruneOff = "TIDINGS_PRUNE_INTERVAL=24h"

func (o *options) runPublish(ctx context.Context, rep *report) error {
	tid, err := o.startTidings(ctx, "", pruneOff)
	if err != nil {
		return err
	}
	defer tid.stop()
	rep.addStartup(tid)
	noop, err := o.startBaseline(ctx, "noop")
	if err != nil {
		return err
	}
	defer noop.stop()
	type target struct {
		target string
		srv    *server
		batch  int
	}
	targets := []target{{"tidings", tid, 1}, {"noop", noop, 1}, {"tidings", tid, 100}}
	if o.compareBin != "" {
		cmp, err := o.startTidingsBin(ctx, "compare", o.compareBin, "", pruneOff)
		if err != nil {
			return err
		}
		defer cmp.stop()
		targets = append(targets, target{"compare", cmp, 1}, target{"compare", cmp, 100})
	}

	rows := map[string]*publishRow{}
	row := func(target string, batch, p int) *publishRow {
		k := fmt.Sprint(target, batch, p)
		if rows[k] == nil {
			rows[k] = &publishRow{Target: target, Batch: batch, Publishers: p}
			rep.Publish = append(rep.Publish, rows[k])
		}
		return rows[k]
	}
	for run := 1; run <= o.runs; run++ {
		for _, p := range o.publishers {
			for _, t := range targets {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r := drivePublish(ctx, t.srv, p, t.batch, o.duration)
				logf("publish %s batch=%d P=%d run %d: %.0f events/s, %.0f req/s, p50 %.2fms p99 %.2fms, %d errors, server CPU %.1fµs/req",
					t.target, t.batch, p, run, r.EventsPerSec, r.RequestsPerSec, r.Latency.P50, r.Latency.P99, r.Errors, r.ServerCPU)
				row(t.target, t.batch, p).Runs = append(row(t.target, t.batch, p).Runs, r)
			}
		}
	}
	for _, r := range rep.Publish {
		r.summarize()
	}

	for _, n := range []int{100, 1000} {
		sr := &sqliteRow{RowsPerTx: n}
		for run := 1; run <= o.runs; run++ {
			v, err := o.rawInserts(ctx, n, o.duration)
			if err != nil {
				return fmt.Errorf("sqlite baseline: %w", err)
			}
			logf("sqlite baseline %d rows/tx run %d: %.0f rows/s", n, run, v)
			sr.Runs = append(sr.Runs, v)
		}
		sr.RowsPerSec = stats.Median(sr.Runs)
		rep.SQLite = append(rep.SQLite, sr)
	}
	return nil
}

// drivePublish runs p keep-alive publishers for d after a short warm-up,
// and reads srv's CPU time at the start and end of the measured window.
func drivePublish(ctx context.Context, srv *server, p, batch int, d time.Duration) publishRun {
	client := newClient(p)
	defer client.CloseIdleConnections()
	u := srv.base + "/v1/topics/bench/events"
	if batch > 1 {
		u = srv.base + "/v1/events"
	}
	warm := min(d/4, time.Second)
	from := time.Now().Add(warm)
	until := from.Add(d)
	cpu := make(chan float64, 1)
	go func() {
		time.Sleep(time.Until(from))
		c0 := srv.cpuSeconds()
		time.Sleep(time.Until(until))
		c1 := srv.cpuSeconds()
		if c0 < 0 || c1 < 0 {
			cpu <- -1
			return
		}
		cpu <- c1 - c0
	}()
	type result struct {
		lat    []time.Duration
		events int
		reqs   int
		errors int
	}
	results := make([]result, p)
	var wg sync.WaitGroup
	for w := range p {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[w]
			body := make([]byte, 0, 64*batch)
			for ctx.Err() == nil {
				body = body[:0]
				if batch == 1 {
					body = append(body, `{"data":`...)
					body = stampedData(body)
					body = append(body, '}')
				} else {
					body = append(body, `{"events":[`...)
					for i := range batch {
						if i > 0 {
							body = append(body, ',')
						}
						body = append(body, `{"topic":"bench-`...)
						body = strconv.AppendInt(body, int64(w%16), 10)
						body = append(body, `","data":`...)
						body = stampedData(body)
						body = append(body, '}')
					}
					body = append(body, "]}"...)
				}
				t0 := time.Now()
				if t0.After(until) {
					return
				}
				status, _, err := post(ctx, client, u, body)
				if t0.Before(from) {
					continue
				}
				if err != nil || status != http.StatusCreated {
					res.errors++
					continue
				}
				res.lat = append(res.lat, time.Since(t0))
				res.events += batch
				res.reqs++
			}
		}()
	}
	wg.Wait()
	var all []time.Duration
	var out publishRun
	var events, reqs int
	for _, r := range results {
		all = append(all, r.lat...)
		events += r.events
		reqs += r.reqs
		out.Errors += r.errors
	}
	secs := d.Seconds()
	out.EventsPerSec = float64(events) / secs
	out.RequestsPerSec = float64(reqs) / secs
	out.Latency = stats.Summarize(all)
	out.ServerCPU = -1
	if c := <-cpu; c >= 0 && reqs > 0 {
		out.ServerCPU = c * 1e6 / float64(reqs)
	}
	return out
}

// rawInserts is the storage speed of light: the store's schema, pragmas
// and driver, one connection inserting rowsPerTx rows per transaction
// with a prepared statement and the same per-topic count upsert, no HTTP
// and no queue.
func (o *options) rawInserts(ctx context.Context, rowsPerTx int, d time.Duration) (float64, error) {
	path := filepath.Join(o.workDir, fmt.Sprintf("raw-%d-%d.db", rowsPerTx, time.Now().UnixNano()))
	st, err := store.Open(path, store.Options{}) // creates the schema
	if err != nil {
		return 0, err
	}
	if err := st.Close(ctx); err != nil {
		return 0, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ins, err := db.Prepare(`INSERT OR IGNORE INTO events (id, topic, type, data, key, time) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	defer ins.Close()
	up, err := db.Prepare(`INSERT INTO topics (topic, count) VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET count = count + excluded.count`)
	if err != nil {
		return 0, err
	}
	defer up.Close()
	var id int64
	data := []byte(`{"t":1763798400000000000}`)
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		tx, err := db.Begin()
		if err != nil {
			return 0, err
		}
		tins, tup := tx.Stmt(ins), tx.Stmt(up)
		now := time.Now().UnixMilli()
		for range rowsPerTx {
			id++
			if _, err := tins.Exec(id, "bench", "message", data, nil, now); err != nil {
				tx.Rollback()
				return 0, err
			}
		}
		if _, err := tup.Exec("bench", rowsPerTx); err != nil {
			tx.Rollback()
			return 0, err
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return float64(id) / time.Since(start).Seconds(), nil
}
