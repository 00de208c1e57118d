package cli

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is stamped at build time:
//
//	go build -ldflags "-X github.com/tidings/tidings/cli.version=1.2.3"
var version = "dev"

// versionString is the stamped version, else the module version of a
// "go install …@v1.2.3" build, else "dev" with the VCS revision if known.
func VersionString() string {
	if version != "dev" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return version
	}
	return version + "-" + rev + dirty
}

// Version is "tidings version".
func Version(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tidings version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: tidings version

Prints the version, the Go version and the platform. The version is
stamped with -ldflags "-X github.com/tidings/tidings/cli.version=..." (scripts/build-static.sh does).
`)
	}
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	fmt.Fprintf(stdout, "tidings %s %s %s/%s\n", VersionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}
