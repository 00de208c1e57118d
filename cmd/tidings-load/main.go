// Command tidings-load measures a tidings server over loopback: publish
// throughput and latency, SSE fan-out latency with loss and duplicate
// checks, memory per idle connection, catch-up speed, resume latency on a
// large store and cold start, each beside a speed-of-light baseline
// measured in the same run by the same client.
//
//	go run ./cmd/tidings-load all                 # everything, about 10 minutes
//	go run ./cmd/tidings-load all --quick         # a one-minute smoke run
//	go run ./cmd/tidings-load fanout --json out.json
//
// It starts the servers itself (building tidings from this module unless
// --server-bin is given) so it can read their CPU time and memory from
// /proc; with --addr it drives an existing server instead and reports
// only what the client sees.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	addr        string
	serverBin   string
	compareBin  string
	jsonOut     string
	chartDir    string
	quick       bool
	runs        int
	duration    time.Duration
	fanoutDur   time.Duration
	publishers  []int
	subscribers []int
	rate        int
	distinct    bool
	idleConns   int
	catchup     int
	events      int
	resumeReqs  int
	serverEnv   []string

	workDir  string // temporary files of this run
	builtBin string
}

var modes = []string{"publish", "fanout", "idle", "catchup", "resume-at-scale", "startup", "all"}

// redrawCommand rewrites the charts of a saved result without running
// anything: tidings-load redraw results.json [folder].
const redrawCommand = "redraw"

func main() {
	if kind, ok := isBaselineInvocation(os.Args[1:]); ok {
		os.Exit(runBaselineServer(kind))
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(os.Stderr, "usage: tidings-load MODE [flags]\nmodes: %s\nrun tidings-load all -h for the flags;\ntidings-load redraw results.json [folder] redraws the charts of a saved run\n", strings.Join(modes, ", "))
		return 2
	}
	mode := args[0]
	if mode == redrawCommand {
		return redraw(args[1:])
	}
	o := &options{}
	fs := flag.NewFlagSet("tidings-load "+mode, flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", "", "drive an existing tidings at host:port instead of starting one (no server CPU/RSS then)")
	fs.StringVar(&o.serverBin, "server-bin", "", "tidings binary to start (default: go build this module)")
	fs.StringVar(&o.compareBin, "compare-bin", "", "publish: also measure this tidings binary, in the same runs, as target \"compare\" (before and after one change)")
	fs.StringVar(&o.jsonOut, "json", "", "write the results as JSON to this file")
	fs.StringVar(&o.chartDir, "charts", "", "write SVG charts to this folder (default: the --json file's folder)")
	fs.BoolVar(&o.quick, "quick", false, "small sizes and one run of each: a smoke test of about a minute")
	fs.IntVar(&o.runs, "runs", 0, "repetitions of each measurement; the median is reported (default 3, 1 with --quick)")
	fs.DurationVar(&o.duration, "duration", 0, "length of each publish measurement (default 4s)")
	fs.DurationVar(&o.fanoutDur, "fanout-duration", 0, "length of each fan-out measurement (default 6s)")
	pubs := fs.String("publishers", "", "comma-separated publisher counts (default 1,16,64,256)")
	subs := fs.String("subscribers", "", "comma-separated subscriber counts (default 100,1000,5000)")
	fs.IntVar(&o.rate, "rate", 50, "fan-out publish rate, events/s")
	fs.BoolVar(&o.distinct, "distinct", true, "fan-out also with one topic per subscriber")
	fs.IntVar(&o.idleConns, "idle", 0, "idle SSE streams and waiting polls, each (default 5000)")
	fs.IntVar(&o.catchup, "catchup", 0, "events a catching-up subscriber is behind (default 100000)")
	fs.IntVar(&o.events, "events", 0, "events in the large store of resume-at-scale (default 10000000)")
	fs.IntVar(&o.resumeReqs, "resume-requests", 0, "resume requests per run (default 2000)")
	fs.Func("server-env", "extra KEY=VALUE for the tidings servers the tool starts, e.g. TIDINGS_LOG_LEVEL=warn (repeatable)", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("want KEY=VALUE, not %q", v)
		}
		o.serverEnv = append(o.serverEnv, v)
		return nil
	})
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if !validMode(mode) {
		fmt.Fprintf(os.Stderr, "tidings-load: unknown mode %q (want one of %s)\n", mode, strings.Join(modes, ", "))
		return 2
	}
	var err error
	if o.publishers, err = intList(*pubs); err != nil {
		fmt.Fprintln(os.Stderr, "tidings-load: --publishers:", err)
		return 2
	}
	if o.subscribers, err = intList(*subs); err != nil {
		fmt.Fprintln(os.Stderr, "tidings-load: --subscribers:", err)
		return 2
	}
	o.setDefaults()
	if o.chartDir == "" && o.jsonOut != "" {
		o.chartDir = filepath.Dir(o.jsonOut)
	}

	raiseFileLimit()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if o.workDir, err = os.MkdirTemp("", "tidings-load-"); err != nil {
		fmt.Fprintln(os.Stderr, "tidings-load:", err)
		return 1
	}
	defer os.RemoveAll(o.workDir)

	rep := newReport(o, mode)
	if err := o.runMode(ctx, mode, rep); err != nil {
		fmt.Fprintln(os.Stderr, "tidings-load:", err)
		return 1
	}
	rep.Finished = time.Now().UTC()
	rep.Machine.LoadEnd = loadAvg()
	rep.evaluateTargets()
	rep.printTables(os.Stdout)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		os.MkdirAll(filepath.Dir(o.jsonOut), 0o755)
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "tidings-load:", err)
			return 1
		}
	}
	if o.chartDir != "" {
		if err := rep.writeCharts(o.chartDir); err != nil {
			fmt.Fprintln(os.Stderr, "tidings-load:", err)
			return 1
		}
	}
	return 0
}

func (o *options) runMode(ctx context.Context, mode string, rep *report) error {
	steps := map[string]func(context.Context, *report) error{
		"publish":         o.runPublish,
		"fanout":          o.runFanout,
		"idle":            o.runIdle,
		"catchup":         o.runCatchup,
		"resume-at-scale": o.runResume,
		"startup":         o.runStartup,
	}
	if mode != "all" {
		return steps[mode](ctx, rep)
	}
	for _, m := range modes[:len(modes)-1] {
		logf("== %s", m)
		if err := steps[m](ctx, rep); err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
	}
	return nil
}

func (o *options) setDefaults() {
	def := func(v *int, normal, quick int) {
		if *v <= 0 {
			*v = normal
			if o.quick {
				*v = quick
			}
		}
	}
	def(&o.runs, 3, 1)
	def(&o.idleConns, 5000, 500)
	def(&o.catchup, 100000, 20000)
	def(&o.events, 10_000_000, 100_000)
	def(&o.resumeReqs, 2000, 300)
	if o.duration <= 0 {
		o.duration = 4 * time.Second
		if o.quick {
			o.duration = 2 * time.Second
		}
	}
	if o.fanoutDur <= 0 {
		o.fanoutDur = 6 * time.Second
		if o.quick {
			o.fanoutDur = 2 * time.Second
		}
	}
	if len(o.publishers) == 0 {
		o.publishers = []int{1, 16, 64, 256}
		if o.quick {
			o.publishers = []int{1, 64}
		}
	}
	if len(o.subscribers) == 0 {
		o.subscribers = []int{100, 1000, 5000}
		if o.quick {
			o.subscribers = []int{100, 1000}
		}
	}
}

func validMode(m string) bool {
	for _, x := range modes {
		if x == m {
			return true
		}
	}
	return false
}

func intList(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive whole number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// raiseFileLimit lifts the soft open-file limit to the hard one; servers
// the tool starts inherit it.
func raiseFileLimit() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			logf("cannot raise the open-file limit: %v", err)
		}
	}
}

// fileLimit is the soft open-file limit now in force.
func fileLimit() uint64 {
	var l syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
	return l.Cur
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// machine describes where the numbers come from.
type machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	FileLimit uint64 `json:"file_limit"`
	// Load averages (1, 5, 15 min) when the run started and ended: the
	// client and the servers share the machine with whatever else runs.
	LoadStart string `json:"loadavg_start"`
	LoadEnd   string `json:"loadavg_end,omitempty"`
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, FileLimit: fileLimit(), LoadStart: loadAvg()}
	m.CPUModel, _ = procLine("/proc/cpuinfo", "model name")
	return m
}

func redraw(args []string) int {
	if len(args) < 1 || len(args) > 2 {
		fmt.Fprintln(os.Stderr, "usage: tidings-load redraw results.json [chart folder]")
		return 2
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tidings-load:", err)
		return 1
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		fmt.Fprintln(os.Stderr, "tidings-load:", err)
		return 1
	}
	dir := filepath.Dir(args[0])
	if len(args) == 2 {
		dir = args[1]
	}
	if err := rep.writeCharts(dir); err != nil {
		fmt.Fprintln(os.Stderr, "tidings-load:", err)
		return 1
	}
	return 0
}
