package main

import (
	"debug/elf"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/tidings/tidings/server"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ENV, …
	args string
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	raw, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur string
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		cmd, args, _ := strings.Cut(cur, " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur = ""
	}
	return out
}

func find(ins []instruction, cmd string) []string {
	var out []string
	for _, in := range ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// dockerEnv is every ENV KEY=VALUE of the Dockerfile.
func dockerEnv(t *testing.T, ins []instruction) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, args := range find(ins, "ENV") {
		for _, kv := range strings.Fields(args) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("ENV %s: want KEY=VALUE pairs", args)
			}
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

// configDefault is the default tag of a Config field, as serve reads it.
func configDefault(t *testing.T, field string) string {
	t.Helper()
	f, ok := reflect.TypeOf(server.Config{}).FieldByName(field)
	if !ok {
		t.Fatalf("Config has no field %s", field)
	}
	return f.Tag.Get("default")
}

// buildStatic runs the build step of the Dockerfile, scripts/build-static.sh,
// with version stamped, and returns the binary.
func buildStatic(t *testing.T, version string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tidings")
	cmd := exec.Command("sh", "scripts/build-static.sh", bin)
	cmd.Env = append(os.Environ(), "VERSION="+version)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build-static.sh: %v\n%s", err, out)
	}
	return bin
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := readDockerfile(t)
	from := find(ins, "FROM")
	if len(from) != 2 || !strings.HasPrefix(from[0], "golang:1.26 ") || from[1] != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("FROM: got %q, want a golang:1.26 builder and gcr.io/distroless/static-debian12:nonroot", from)
	}
	runs := find(ins, "RUN")
	if !slices.Contains(runs, `VERSION="$VERSION" sh scripts/build-static.sh /out/tidings`) {
		t.Errorf("RUN: got %q, want the build step to be scripts/build-static.sh", runs)
	}
	if got := find(ins, "HEALTHCHECK"); len(got) > 0 {
		t.Errorf("HEALTHCHECK %q: want none (the image has no shell; probe /readyz)", got)
	}
	if got, want := find(ins, "ENTRYPOINT"), []string{`["/tidings"]`}; !slices.Equal(got, want) {
		t.Errorf("ENTRYPOINT: got %q, want %q", got, want)
	}
	if got := find(ins, "USER"); len(got) != 1 || got[0] != "65532:65532" {
		t.Errorf("USER: got %q, want 65532:65532 (nonroot)", got)
	}

	env := dockerEnv(t, ins)
	dataDir := path.Dir(env["TIDINGS_DB"])
	if got := find(ins, "VOLUME"); len(got) != 1 || got[0] != dataDir {
		t.Errorf("VOLUME: got %q, want the folder of TIDINGS_DB=%s", got, env["TIDINGS_DB"])
	}
	if !slices.Contains(find(ins, "COPY"), "--from=build --chown=65532:65532 /out/data "+dataDir) {
		t.Errorf("COPY: got %q, want %s copied with --chown=65532:65532 so nonroot can write it", find(ins, "COPY"), dataDir)
	}
	_, port, err := net.SplitHostPort(env["TIDINGS_ADDR"])
	if err != nil {
		t.Fatalf("ENV TIDINGS_ADDR=%q: %v", env["TIDINGS_ADDR"], err)
	}
	if got := find(ins, "EXPOSE"); len(got) != 1 || got[0] != port {
		t.Errorf("EXPOSE: got %q, want %s, the port of TIDINGS_ADDR", got, port)
	}

	// The script holds the flags the image is built with.
	script, err := os.ReadFile("scripts/build-static.sh")
	if err != nil {
		t.Fatal(err)
	}
	const build = `CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/tidings/tidings/cli.version=$VERSION"`
	if !strings.Contains(string(script), build) {
		t.Errorf("scripts/build-static.sh does not run %s", build)
	}
}

// The binary the image ships is statically linked and serves with nothing
// but the image's environment.
func TestStaticBinary(t *testing.T) {
	t.Parallel()
	const version = "0.0.0-deploy-test"
	bin := buildStatic(t, version)

	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("static binary: %d bytes (%.1f MiB)", fi.Size(), float64(fi.Size())/(1<<20))

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("binary has a PT_INTERP program header: it needs a dynamic loader")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("DT_NEEDED: got %q, %v; want no shared libraries", libs, err)
	}

	if out := output(t, bin, nil, "version"); !strings.HasPrefix(out, "tidings "+version+" ") {
		t.Errorf("tidings version: got %q, want the stamped %s", out, version)
	}

	env := dockerEnv(t, readDockerfile(t))
	env["TIDINGS_DB"] = filepath.Join(t.TempDir(), "data", "tidings.db")
	env["TIDINGS_ADDR"] = "127.0.0.1:0"
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	p := startProc(t, bin, environ)
	if status, body, _ := get(t, p.URL+"/readyz"); status != http.StatusOK {
		t.Errorf("GET /readyz: got %d %s, want 200", status, body)
	}
	p.stopCleanly(t)
}

// flyConfig is the part of fly.toml the deployment relies on.
type flyConfig struct {
	KillSignal  string            `toml:"kill_signal"`
	KillTimeout any               `toml:"kill_timeout"`
	Env         map[string]string `toml:"env"`
	Metrics     struct {
		Port int    `toml:"port"`
		Path string `toml:"path"`
	} `toml:"metrics"`
	Mounts struct {
		Source      string `toml:"source"`
		Destination string `toml:"destination"`
	} `toml:"mounts"`
	HTTPService struct {
		InternalPort       int    `toml:"internal_port"`
		ForceHTTPS         bool   `toml:"force_https"`
		AutoStopMachines   string `toml:"auto_stop_machines"`
		AutoStartMachines  bool   `toml:"auto_start_machines"`
		MinMachinesRunning int    `toml:"min_machines_running"`
		Concurrency        struct {
			Type      string `toml:"type"`
			SoftLimit int    `toml:"soft_limit"`
			HardLimit int    `toml:"hard_limit"`
		} `toml:"concurrency"`
		Checks []struct {
			Method string `toml:"method"`
			Path   string `toml:"path"`
		} `toml:"checks"`
	} `toml:"http_service"`
}

// kill_timeout is seconds as a number or a duration string.
func flyDuration(v any) (time.Duration, error) {
	switch v := v.(type) {
	case int64:
		return time.Duration(v) * time.Second, nil
	case string:
		return time.ParseDuration(v)
	default:
		return 0, fmt.Errorf("kill_timeout %v (%T): want seconds or a duration", v, v)
	}
}

func TestFlyConfig(t *testing.T) {
	t.Parallel()
	var fly flyConfig
	md, err := toml.DecodeFile("fly.toml", &fly)
	if err != nil {
		t.Fatal(err)
	}
	if !md.IsDefined("app") {
		t.Error("fly.toml names no app")
	}
	env := dockerEnv(t, readDockerfile(t))

	if got, want := fly.Mounts.Destination, path.Dir(env["TIDINGS_DB"]); got != want {
		t.Errorf("mount destination: got %q, want %q, the folder of the image's TIDINGS_DB", got, want)
	}
	if got, want := fly.Env["TIDINGS_DB"], env["TIDINGS_DB"]; got != want {
		t.Errorf("env TIDINGS_DB: got %q, want %q", got, want)
	}
	if fly.Mounts.Source == "" {
		t.Error("mount has no source volume")
	}
	if got, want := fly.Env["TIDINGS_ADDR"], env["TIDINGS_ADDR"]; got != want {
		t.Errorf("env TIDINGS_ADDR: got %q, want %q, the image's", got, want)
	}
	host, port, err := net.SplitHostPort(fly.Env["TIDINGS_ADDR"])
	if err != nil {
		t.Fatalf("env TIDINGS_ADDR=%q: %v", fly.Env["TIDINGS_ADDR"], err)
	}
	if host != "" {
		t.Errorf("env TIDINGS_ADDR=%q: want every interface (:port), where Fly's proxy reaches it", fly.Env["TIDINGS_ADDR"])
	}
	if got := strconv.Itoa(fly.HTTPService.InternalPort); got != port {
		t.Errorf("internal_port: got %s, want %s, the port of TIDINGS_ADDR", got, port)
	}
	if _, mport, err := net.SplitHostPort(fly.Env["TIDINGS_METRICS_ADDR"]); err != nil || strconv.Itoa(fly.Metrics.Port) != mport || fly.Metrics.Path != "/metrics" {
		t.Errorf("metrics: [metrics] %+v and TIDINGS_METRICS_ADDR=%q, want the scraper on the metrics port at /metrics", fly.Metrics, fly.Env["TIDINGS_METRICS_ADDR"])
	}
	if n := len(fly.HTTPService.Checks); n != 1 || fly.HTTPService.Checks[0].Path != "/readyz" || fly.HTTPService.Checks[0].Method != "GET" {
		t.Errorf("http checks: got %+v, want one GET /readyz", fly.HTTPService.Checks)
	}
	if fly.KillSignal != "SIGTERM" {
		t.Errorf("kill_signal: got %q, want SIGTERM, on which the server drains", fly.KillSignal)
	}
	kill, err := flyDuration(fly.KillTimeout)
	if err != nil {
		t.Fatal(err)
	}
	shutdown, err := time.ParseDuration(configDefault(t, "ShutdownTimeout"))
	if err != nil {
		t.Fatal(err)
	}
	if kill <= shutdown {
		t.Errorf("kill_timeout %s: want longer than the default TIDINGS_SHUTDOWN_TIMEOUT %s", kill, shutdown)
	}

	hs := fly.HTTPService
	if !hs.ForceHTTPS || hs.AutoStopMachines != "stop" || !hs.AutoStartMachines || hs.MinMachinesRunning != 0 {
		t.Errorf("http_service: got %+v, want force_https, auto stop/start and min 0", hs)
	}
	if hs.Concurrency.Type != "connections" {
		t.Errorf("concurrency type: got %q, want connections (a stream holds one)", hs.Concurrency.Type)
	}
	maxSubs, err := strconv.Atoi(fly.Env["TIDINGS_MAX_SUBSCRIBERS"])
	if err != nil {
		maxSubs, _ = strconv.Atoi(configDefault(t, "MaxSubscribers"))
	}
	if hs.Concurrency.HardLimit <= maxSubs || hs.Concurrency.SoftLimit > hs.Concurrency.HardLimit {
		t.Errorf("concurrency: soft %d, hard %d; want soft ≤ hard and hard above TIDINGS_MAX_SUBSCRIBERS=%d, so the server answers over-limit streams itself",
			hs.Concurrency.SoftLimit, hs.Concurrency.HardLimit, maxSubs)
	}
}
