package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tidings/tidings/cmd/tidings-load/internal/stats"
)

type report struct {
	Mode     string    `json:"mode"`
	Quick    bool      `json:"quick"`
	Runs     int       `json:"runs"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  machine   `json:"machine"`
	Server   string    `json:"server"` // what was measured

	Publish []*publishRow `json:"publish,omitempty"`
	SQLite  []*sqliteRow  `json:"sqlite_baseline,omitempty"`
	Fanout  []*fanoutRow  `json:"fanout,omitempty"`
	Idle    *idleRow      `json:"idle,omitempty"`
	Catchup []*catchupRow `json:"catchup,omitempty"`
	Resume  []*resumeRow  `json:"resume,omitempty"`
	// StartupMS are exec-to-ready times of servers started on an empty
	// store, in milliseconds; StartupMedianMS is their median.
	StartupMS       []float64 `json:"startup_ms,omitempty"`
	StartupMedianMS float64   `json:"startup_median_ms,omitempty"`

	Targets []target `json:"targets"`
}

type target struct {
	Name  string `json:"name"`
	Want  string `json:"want"`
	Got   string `json:"got"`
	Met   bool   `json:"met"`
	Known bool   `json:"measured"`
}

func newReport(o *options, mode string) *report {
	r := &report{Mode: mode, Quick: o.quick, Runs: o.runs, Started: time.Now().UTC(), Machine: describeMachine(), Server: "tidings started by the tool"}
	if o.addr != "" {
		r.Server = "existing tidings at " + o.addr
	}
	return r
}

// addStartup records the cold start of a server on an empty store.
func (r *report) addStartup(s *server) {
	if s.pid == 0 {
		return
	}
	r.StartupMS = append(r.StartupMS, stats.Millis(s.startup))
	r.StartupMedianMS = stats.Median(r.StartupMS)
}

func (o *options) runStartup(ctx context.Context, rep *report) error {
	if o.addr != "" {
		logf("startup: skipped: it starts servers")
		return nil
	}
	for range max(5, o.runs) {
		srv, err := o.startTidings(ctx, "")
		if err != nil {
			return err
		}
		srv.stop()
		rep.addStartup(srv)
	}
	logf("startup: median %.1fms over %d starts", rep.StartupMedianMS, len(rep.StartupMS))
	return nil
}

func (r *report) publishRow(target string, batch, p int) *publishRow {
	for _, x := range r.Publish {
		if x.Target == target && x.Batch == batch && x.Publishers == p {
			return x
		}
	}
	return nil
}

func (r *report) fanoutRow(target string, s int, distinct bool) *fanoutRow {
	for _, x := range r.Fanout {
		if x.Target == target && x.Subscribers == s && x.Distinct == distinct {
			return x
		}
	}
	return nil
}

func (r *report) evaluateTargets() {
	r.Targets = nil
	add := func(name, want string, known bool, got string, met bool) {
		r.Targets = append(r.Targets, target{Name: name, Want: want, Got: got, Met: known && met, Known: known})
	}
	{
		t, n := r.publishRow("tidings", 1, 64), r.publishRow("noop", 1, 64)
		ok := t != nil && n != nil && n.RequestsPerSec > 0
		got := ""
		if ok {
			got = fmt.Sprintf("%.0f / %.0f req/s = %.0f%%", t.RequestsPerSec, n.RequestsPerSec, 100*t.RequestsPerSec/n.RequestsPerSec)
		}
		add("publish at 64 publishers vs no-op handler", "≥ 50%", ok, got, ok && t.RequestsPerSec >= 0.5*n.RequestsPerSec)
	}
	{
		f := r.fanoutRow("tidings", 5000, false)
		got := ""
		if f != nil {
			got = fmt.Sprintf("p99 %.1f ms, lost %d, duplicates %d", f.P99, f.Lost, f.Duplicates)
		}
		add("fan-out to 5,000 subscribers at 50 events/s", "p99 < 50 ms, 0 lost, 0 duplicates", f != nil, got, f != nil && f.P99 < 50 && f.Lost == 0 && f.Duplicates == 0 && f.Rate == 50)
	}
	{
		i := r.Idle
		got := ""
		if i != nil {
			got = fmt.Sprintf("SSE %.1f KB, poll %.1f KB (baseline %.1f, %.1f)", i.SSEKBPerConn, i.PollKBPerConn, i.BaselineSSEKBPerConn, i.BaselinePollKBPerConn)
		}
		add("RSS per idle connection", "SSE < 20 KB, waiting poll < 16 KB", i != nil, got, i != nil && i.SSEKBPerConn < 20 && i.PollKBPerConn < 16)
	}
	{
		var c *catchupRow
		for _, x := range r.Catchup {
			if x.Transport == "sse" {
				c = x
			}
		}
		got := ""
		if c != nil {
			got = fmt.Sprintf("%.0f events/s", c.EventsPerSec)
		}
		add("catch-up over SSE", "> 100,000 events/s", c != nil, got, c != nil && c.EventsPerSec > 100000)
	}
	{
		var big *resumeRow
		for _, x := range r.Resume {
			if big == nil || x.Events > big.Events {
				big = x
			}
		}
		got := ""
		ok := big != nil && big.Events >= 10_000_000
		if big != nil {
			got = fmt.Sprintf("p99 %.2f ms at %d events", big.P99, big.Events)
		}
		add("resume at 10 million events", "p99 < 10 ms", ok, got, ok && big.P99 < 10)
	}
	add("cold start to ready", "< 100 ms", len(r.StartupMS) > 0, fmt.Sprintf("median %.1f ms over %d starts", r.StartupMedianMS, len(r.StartupMS)), r.StartupMedianMS < 100)
}

func (r *report) printTables(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	line := func(cells ...any) {
		for _, c := range cells {
			fmt.Fprintf(tw, "%v\t", c)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(w, "\ntidings-load %s: %s, %d CPUs, %s, medians of %d runs, load average %s at start, %s at end\n",
		r.Mode, r.Machine.CPUModel, r.Machine.CPUs, r.Machine.GoVersion, r.Runs, r.Machine.LoadStart, r.Machine.LoadEnd)
	if len(r.Publish) > 0 {
		fmt.Fprintln(w, "\npublish (acknowledged)")
		line("target", "batch", "publishers", "events/s", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "server CPU µs/req", "vs no-op")
		for _, x := range r.Publish {
			ratio := "-"
			if n := r.publishRow("noop", 1, x.Publishers); n != nil && x.Target != "noop" && x.Batch == 1 && n.RequestsPerSec > 0 {
				ratio = fmt.Sprintf("%.0f%%", 100*x.RequestsPerSec/n.RequestsPerSec)
			}
			line(x.Target, x.Batch, x.Publishers, f0(x.EventsPerSec), f0(x.RequestsPerSec), f2(x.P50), f2(x.P99), f2(x.P999), x.Errors, orDash(x.ServerCPU), ratio)
		}
		tw.Flush()
	}
	if len(r.SQLite) > 0 {
		fmt.Fprintln(w, "\nraw SQLite inserts (same driver, schema and pragmas)")
		line("rows/tx", "rows/s", "best tidings batch events/s", "ratio")
		best := 0.0
		for _, x := range r.Publish {
			if x.Target == "tidings" && x.Batch > 1 {
				best = max(best, x.EventsPerSec)
			}
		}
		for _, x := range r.SQLite {
			line(x.RowsPerTx, f0(x.RowsPerSec), f0(best), fmt.Sprintf("%.0f%%", 100*best/x.RowsPerSec))
		}
		tw.Flush()
	}
	if len(r.Fanout) > 0 {
		fmt.Fprintln(w, "\nfan-out (publish-to-delivery)")
		line("target", "subscribers", "topics", "rate/s", "reached/s", "deliveries/s", "p50 ms", "p99 ms", "max ms", "lost", "dups", "server CPU/s", "p99 vs baseline")
		for _, x := range r.Fanout {
			topics := "1"
			if x.Distinct {
				topics = fmt.Sprint(x.Subscribers)
			}
			ratio := "-"
			if b := r.fanoutRow("sse-baseline", x.Subscribers, false); b != nil && x.Target == "tidings" && !x.Distinct && b.P99 > 0 {
				ratio = fmt.Sprintf("%.1fx", x.P99/b.P99)
			}
			line(x.Target, x.Subscribers, topics, x.Rate, f1(x.PublishedPerSec), f0(x.DeliveriesPerSec), f2(x.P50), f2(x.P99), f2(x.Max), x.Lost, x.Duplicates, orDash(x.ServerCPU), ratio)
		}
		tw.Flush()
	}
	if r.Idle != nil {
		fmt.Fprintf(w, "\nidle connections (%d of each)\n", r.Idle.Conns)
		line("kind", "tidings KB per connection", "baseline KB", "tidings / baseline")
		line("SSE stream", f1(r.Idle.SSEKBPerConn), f1(r.Idle.BaselineSSEKBPerConn), ratioOf(r.Idle.SSEKBPerConn, r.Idle.BaselineSSEKBPerConn))
		line("waiting poll", f1(r.Idle.PollKBPerConn), f1(r.Idle.BaselinePollKBPerConn), ratioOf(r.Idle.PollKBPerConn, r.Idle.BaselinePollKBPerConn))
		tw.Flush()
	}
	if len(r.Catchup) > 0 {
		fmt.Fprintln(w, "\ncatch-up")
		line("transport", "events behind", "events/s")
		for _, x := range r.Catchup {
			line(x.Transport, x.Behind, f0(x.EventsPerSec))
		}
		tw.Flush()
	}
	if len(r.Resume) > 0 {
		fmt.Fprintln(w, "\nresume (poll 50 events back on a random topic)")
		line("events", "topics", "db MB", "startup ms", "p50 ms", "p99 ms", "max ms")
		for _, x := range r.Resume {
			line(x.Events, x.Topics, x.DBBytes>>20, f1(x.StartupMS), f2(x.P50), f2(x.P99), f2(x.Max))
		}
		tw.Flush()
	}
	if len(r.StartupMS) > 0 {
		fmt.Fprintf(w, "\ncold start to ready on an empty store: median %.1f ms over %d starts\n", r.StartupMedianMS, len(r.StartupMS))
	}
	fmt.Fprintln(w, "\ntargets")
	line("target", "want", "got", "met")
	for _, t := range r.Targets {
		met := "no"
		switch {
		case !t.Known:
			met = "not measured"
		case t.Met:
			met = "yes"
		}
		line(t.Name, t.Want, strings.TrimSpace(t.Got), met)
	}
	tw.Flush()
}

// orDash renders a value that is negative when it was not measured.
func orDash(v float64) string {
	if v < 0 {
		return "-"
	}
	return f2(v)
}

func f0(v float64) string { return fmt.Sprintf("%.0f", v) }
func f1(v float64) string { return fmt.Sprintf("%.1f", v) }
func f2(v float64) string { return fmt.Sprintf("%.2f", v) }

// ratioOf formats a/b as "1.23x", or a dash without a baseline.
func ratioOf(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
