// Command tidings is a real-time push server: it commits published events
// to embedded SQLite and serves them as bounded-duration Server-Sent Events
// and long-poll batches that resume by cursor.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tidings/tidings/cli"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run dispatches a subcommand and returns the exit code.
func run(args []string) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		cmd = "help"
	} else if len(args) > 0 && (args[0] == "-v" || args[0] == "--version" || args[0] == "-version") {
		cmd, args = "version", args[1:]
	} else if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(args)
	case "token":
		return cli.Token(args, os.Stdout, os.Stderr)
	case "publish":
		return cli.Publish(args, os.Stdin, os.Stdout, os.Stderr)
	case "tail":
		return cli.Tail(args, os.Stdout, os.Stderr)
	case "version":
		return cli.Version(args, os.Stdout, os.Stderr)
	case "copy":
		return cli.Copy(args, os.Stdout, os.Stderr)
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
  tidings version     print the version (also: tidings --version, -v)
  tidings copy        copy a store into an empty one (SQLite or PostgreSQL)
  tidings help        show this help

Run "tidings <command> --help" for a command's flags and settings.
`)
}
