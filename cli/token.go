package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tidings/tidings/auth"
)

// patternList is a flag that may repeat and may hold comma-separated values.
type patternList []string

func (p *patternList) String() string { return strings.Join(*p, ",") }

func (p *patternList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if !auth.ValidPattern(s) {
			return fmt.Errorf("%q is not a topic, a prefix ending in *, or *", s)
		}
		*p = append(*p, s)
	}
	return nil
}

// Token prints a signed token: tidings token --publish 'orders.*'
// --subscribe 'user:42' --ttl 24h. The secret comes from TIDINGS_SECRET
// only, so it never lands in shell history.
func Token(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tidings token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var publish, subscribe patternList
	fs.Var(&publish, "publish", "topic `pattern` the token may publish to (repeat or comma-separate)")
	fs.Var(&subscribe, "subscribe", "topic `pattern` the token may subscribe to (repeat or comma-separate)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: tidings token [--publish PATTERN]... [--subscribe PATTERN]... [--ttl 24h]

Prints an HS256 token signed with TIDINGS_SECRET. A pattern is a topic
(user:42), a prefix ending in * (room.*), or * for every topic.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), `
Environment:
  TIDINGS_SECRET   the server's signing key, at least 32 bytes (required)
`)
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tidings token: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	secret := os.Getenv("TIDINGS_SECRET")
	if len(secret) < auth.MinSecretBytes {
		fmt.Fprintln(stderr, "tidings token: set TIDINGS_SECRET to the server's secret (at least 32 bytes)")
		return 2
	}
	if len(publish) == 0 && len(subscribe) == 0 {
		fmt.Fprintln(stderr, "tidings token: give at least one --publish or --subscribe pattern")
		return 2
	}
	if *ttl <= 0 {
		fmt.Fprintln(stderr, "tidings token: --ttl must be positive")
		return 2
	}
	tok, err := auth.Mint(secret, publish, subscribe, *ttl, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "tidings token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
