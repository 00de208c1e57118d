package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
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
	sub := fs.String("sub", "", "the token's subject: the publisher the rate limit counts (default: the token itself)")
	var rate *float64
	fs.Func("rate", "the holder's own publish rate: `N` events per second in place of TIDINGS_PUBLISH_RATE (0: no limit)", func(v string) error {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || !(n >= 0) || math.IsInf(n, 0) {
			return errors.New("want a number of events per second, 0 (no limit) or more")
		}
		rate = &n
		return nil
	})
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: tidings token [--publish PATTERN]... [--subscribe PATTERN]... [--ttl 24h] [--rate N] [--sub NAME]

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
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
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
	c := auth.Claims{Publish: publish, Subscribe: subscribe, Rate: rate}
	c.Subject = *sub
	tok, err := auth.MintClaims(secret, c, *ttl, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "tidings token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
