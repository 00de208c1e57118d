// Package cli holds the client subcommands of the tidings binary (publish,
// tail, token, version). Each takes its arguments and streams and returns
// the process's exit code; they speak to a server through the Go client.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/tidings/tidings/client"
)

// connFlags are the flags every client subcommand shares. Their defaults
// come from the environment after parsing, so --help never prints a token.
type connFlags struct {
	url   string
	token string
}

const defaultURL = "http://localhost:8080"

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", "", "server base `URL` (default $TIDINGS_URL, else "+defaultURL+")")
	fs.StringVar(&c.token, "token", "", "access `token`, sent as Authorization: Bearer (default $TIDINGS_TOKEN)")
}

// connEnvHelp documents the variables connFlags reads.
const connEnvHelp = `
Environment:
  TIDINGS_URL     server base URL when --url is not given
  TIDINGS_TOKEN   access token when --token is not given (see "tidings token")
`

// client builds the client the flags and environment describe.
func (c *connFlags) client(stderr io.Writer) (*client.Client, error) {
	url := c.url
	if url == "" {
		url = os.Getenv("TIDINGS_URL")
	}
	if url == "" {
		url = defaultURL
	}
	token := c.token
	if token == "" {
		token = os.Getenv("TIDINGS_TOKEN")
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			return a
		},
	}))
	return client.New(url, client.Options{Token: token, Logger: log, UserAgent: "tidings/" + VersionString()})
}

// parse registers the connection flags on fs beside the command's own, and
// parses args with help as the usage text. done means the command returns
// code at once: help was asked for (0) or a flag was wrong.
func (c *connFlags) parse(fs *flag.FlagSet, help string, args []string, stdout io.Writer) (pos []string, code int, done bool) {
	c.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), help)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), connEnvHelp)
	}
	if showHelp(fs, args, stdout) {
		return nil, 0, true
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, flagExit(err), true
	}
	return pos, 0, false
}

// parseFlags parses args for a command that takes flags and no
// positional argument. done means the command returns code at once: help
// was asked for (0, the help on stdout), or a flag was wrong or an
// argument was given (2, the message on stderr).
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, done bool) {
	if showHelp(fs, args, stdout) {
		return 0, true
	}
	if err := fs.Parse(args); err != nil {
		return flagExit(err), true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}

// showHelp prints fs's usage to stdout and reports true if args ask for
// help.
func showHelp(fs *flag.FlagSet, args []string, stdout io.Writer) bool {
	if !helpRequested(args) {
		return false
	}
	fs.SetOutput(stdout)
	fs.Usage()
	return true
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, which it returns. After "--" everything is
// positional (for data that starts with "-").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagExit is the exit status after a flag error, which the FlagSet has
// already reported with its usage: 0 for --help, else 2.
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// helpRequested reports whether args ask for help before any "--", so the
// help goes to standard output like "tidings --help".
func helpRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// errText is err without the client package's "tidings: " prefix, which
// the command name already gives.
func errText(err error) string {
	return strings.TrimPrefix(err.Error(), "tidings: ")
}
