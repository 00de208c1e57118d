// Command tidings is a real-time push server: it commits published events
// to embedded SQLite and serves them as bounded-duration Server-Sent Events
// and long-poll batches that resume by cursor.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run dispatches a subcommand and returns the exit code.
func run(args []string) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		cmd = "help"
	} else if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(args)
	case "token":
		return runToken(args, os.Stdout, os.Stderr)
	case "publish":
		return runPublish(args, os.Stdin, os.Stdout, os.Stderr)
	case "tail":
		return runTail(args, os.Stdout, os.Stderr)
	case "version":
		return runVersion(args, os.Stdout, os.Stderr)
	case "help":
		usage(os.Stdout)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "tidings: unknown command %q\n\n", cmd)
		usage(os.Stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `tidings: real-time push from one binary and one SQLite file.

Usage:
  tidings [serve]     run the server (configured by TIDINGS_* variables)
  tidings token       print a signed access token
  tidings publish     publish one event: TOPIC [DATA | -]
  tidings tail        print the events of topics as they are published
  tidings version     print the version
  tidings help        show this help

Run "tidings <command> --help" for a command's flags and settings.
`)
}

func runServe(args []string) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			serveUsage(os.Stdout)
			return 0
		}
		fmt.Fprintf(os.Stderr, "tidings serve: unexpected argument %q (settings come from TIDINGS_* variables)\n", args[0])
		return 2
	}
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tidings:", err)
		return 2
	}
	log := newLogger(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("tidings stopped", "err", err)
		return 1
	}
	return 0
}

// serveUsage lists every setting with its default, from the Config tags.
func serveUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: tidings serve\n\nSettings (environment variables):\n")
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		def := f.Tag.Get("default")
		if def == "" {
			def = "(none)"
		}
		fmt.Fprintf(w, "  TIDINGS_%-26s %-18s %s\n", f.Tag.Get("envconfig"), def, f.Tag.Get("desc"))
	}
}
