package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tidings/tidings/cmd/tidings-load/internal/stats"
)

type fanoutRun struct {
	Published        int           `json:"published"`
	PublishErrors    int           `json:"publish_errors"`
	Expected         int           `json:"expected_deliveries"`
	Delivered        int           `json:"delivered"`
	Lost             int           `json:"lost"`
	Duplicates       int           `json:"duplicates"`
	Reconnects       int           `json:"reconnects"`
	Refusals         int           `json:"refusals"`
	DeliveriesPerSec float64       `json:"deliveries_per_s"`
	Latency          stats.Latency `json:"latency"`
	PublishLatency   stats.Latency `json:"publish_latency"`
	ServerCPUSeconds float64       `json:"server_cpu_s"` // -1 when not measured
	Seconds          float64       `json:"seconds"`
}

type fanoutRow struct {
	Target      string `json:"target"` // tidings or sse-baseline
	Subscribers int    `json:"subscribers"`
	Distinct    bool   `json:"distinct_topics"`
	Rate        int    `json:"rate"`
	// Medians over runs; Lost and Duplicates are sums.
	P50              float64     `json:"p50_ms"`
	P99              float64     `json:"p99_ms"`
	Max              float64     `json:"max_ms"`
	DeliveriesPerSec float64     `json:"deliveries_per_s"`
	PublishedPerSec  float64     `json:"published_per_s"`  // the rate reached: it falls when the machine is saturated
	ServerCPU        float64     `json:"server_cpu_per_s"` // CPU seconds per second of publishing
	Lost             int         `json:"lost"`
	Duplicates       int         `json:"duplicates"`
	Runs             []fanoutRun `json:"runs"`
}

func (r *fanoutRow) summarize() {
	var p50, p99, mx, dps, pps, cpu []float64
	r.Lost, r.Duplicates = 0, 0
	for _, x := range r.Runs {
		p50 = append(p50, x.Latency.P50)
		p99 = append(p99, x.Latency.P99)
		mx = append(mx, x.Latency.Max)
		dps = append(dps, x.DeliveriesPerSec)
		pps = append(pps, float64(x.Published)/x.Seconds)
		if x.ServerCPUSeconds >= 0 && x.Seconds > 0 {
			cpu = append(cpu, x.ServerCPUSeconds/x.Seconds)
		}
		r.Lost += x.Lost
		r.Duplicates += x.Duplicates
	}
	r.P50, r.P99, r.Max = stats.Median(p50), stats.Median(p99), stats.Median(mx)
	r.DeliveriesPerSec = stats.Median(dps)
	r.PublishedPerSec = stats.Median(pps)
	r.ServerCPU = -1 // not measured: the server is not the tool's
	if len(cpu) > 0 {
		r.ServerCPU = stats.Median(cpu)
	}
}

func (o *options) runFanout(ctx context.Context, rep *report) error {
	tid, err := o.startTidings(ctx, "")
	if err != nil {
		return err
	}
	defer tid.stop()
	rep.addStartup(tid)
	base, err := o.startBaseline(ctx, "sse")
	if err != nil {
		return err
	}
	defer base.stop()

	rows := map[string]*fanoutRow{}
	row := func(target string, s int, distinct bool) *fanoutRow {
		k := fmt.Sprint(target, s, distinct)
		if rows[k] == nil {
			rows[k] = &fanoutRow{Target: target, Subscribers: s, Distinct: distinct, Rate: o.rate}
			rep.Fanout = append(rep.Fanout, rows[k])
		}
		return rows[k]
	}
	seq := 0
	for run := 1; run <= o.runs; run++ {
		for _, s := range o.subscribers {
			for _, t := range []struct {
				target   string
				srv      *server
				distinct bool
			}{{"tidings", tid, false}, {"sse-baseline", base, false}, {"tidings", tid, true}} {
				if t.distinct && !o.distinct {
					continue
				}
				seq++
				r, err := driveFanout(ctx, t.srv, s, t.distinct, o.rate, o.fanoutDur, fmt.Sprintf("fan%d", seq))
				if err != nil {
					return fmt.Errorf("%s, %d subscribers: %w", t.target, s, err)
				}
				logf("fanout %s S=%d distinct=%v run %d: p50 %.2fms p99 %.2fms max %.2fms, %d/%d delivered, lost %d, dup %d, cpu %.2fs",
					t.target, s, t.distinct, run, r.Latency.P50, r.Latency.P99, r.Latency.Max, r.Delivered, r.Expected, r.Lost, r.Duplicates, r.ServerCPUSeconds)
				row(t.target, s, t.distinct).Runs = append(row(t.target, s, t.distinct).Runs, r)
			}
		}
	}
	for _, r := range rep.Fanout {
		r.summarize()
	}
	return nil
}

// driveFanout connects s subscribers (to one topic, or each to its own),
// publishes at rate for d from one publisher, waits for every delivery
// (or 15s), and checks that each subscriber got each of its ids once.
func driveFanout(ctx context.Context, srv *server, s int, distinct bool, rate int, d time.Duration, tag string) (fanoutRun, error) {
	var out fanoutRun
	topic := func(i int) string {
		if distinct {
			return fmt.Sprintf("%s-%d", tag, i)
		}
		return tag
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	subs := make([]*sseSubscriber, s)
	var wg sync.WaitGroup
	readyc := make(chan error, s)
	sem := make(chan struct{}, 64) // connects in flight
	for i := range subs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return out, ctx.Err()
		}
		sub := newSSESubscriber(srv.base, topic(i), "")
		subs[i] = sub
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub.run(sctx, func(err error) { <-sem; readyc <- err })
		}()
	}
	deadline := time.After(2 * time.Minute)
	for range s {
		select {
		case err := <-readyc:
			if err != nil {
				cancel()
				wg.Wait()
				return out, fmt.Errorf("subscribe: %w", err)
			}
		case <-deadline:
			cancel()
			wg.Wait()
			return out, fmt.Errorf("subscribers not ready within 2m")
		}
	}

	client := newClient(1)
	defer client.CloseIdleConnections()
	acked := make(map[string][]int64)
	var pubLat []time.Duration
	cpu0 := srv.cpuSeconds()
	start := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	body := make([]byte, 0, 64)
	for i := 0; time.Since(start) < d; i++ {
		select {
		case <-tick.C:
		case <-ctx.Done():
			tick.Stop()
			return out, ctx.Err()
		}
		t := topic(i % s)
		body = append(stampedData(append(body[:0], `{"data":`...)), '}')
		t0 := time.Now()
		status, ans, err := post(ctx, client, srv.base+"/v1/topics/"+t+"/events", body)
		if err != nil || status != http.StatusCreated {
			out.PublishErrors++
			continue
		}
		pubLat = append(pubLat, time.Since(t0))
		acked[t] = append(acked[t], firstID(ans))
		out.Published++
	}
	tick.Stop()
	pubSecs := time.Since(start).Seconds()

	for i := range subs {
		out.Expected += len(acked[topic(i)])
	}
	// Wait for every delivery, bounded.
	drain := time.Now().Add(15 * time.Second)
	for time.Now().Before(drain) {
		n := 0
		for _, sub := range subs {
			n += int(sub.delivered.Load())
		}
		if n >= out.Expected {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cpu1 := srv.cpuSeconds()
	cancel()
	wg.Wait()

	var lat []time.Duration
	for i, sub := range subs {
		want := acked[topic(i)]
		out.Delivered += len(sub.ids) + sub.dups
		out.Lost += countMissing(want, sub.ids)
		out.Duplicates += sub.dups
		out.Reconnects += sub.reconnects
		out.Refusals += sub.refusals
		lat = append(lat, sub.lat...)
	}
	out.Seconds = pubSecs
	out.DeliveriesPerSec = float64(out.Delivered) / pubSecs
	out.Latency = stats.Summarize(lat)
	out.PublishLatency = stats.Summarize(pubLat)
	out.ServerCPUSeconds = -1
	if cpu0 >= 0 && cpu1 >= 0 {
		out.ServerCPUSeconds = cpu1 - cpu0
	}
	return out, nil
}
