package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/tidings/tidings/client"
)

const tailHelp = `Usage: tidings tail [flags] TOPICS...

Prints every event of TOPICS (comma-separated, or several arguments; up to
64) as one JSON object per line on standard output, in id order, each once.
It follows the topics until interrupted, resuming by cursor across the end
of each bounded stream, network failures and server restarts. Resets (the
cursor could not be honoured: events may have been missed) and reconnections
are reported on standard error. On SIGINT or SIGTERM it prints the cursor to
resume from on standard error and exits 0.

Flags (anywhere on the line):
`

// Tail is "tidings tail TOPICS": it prints the topics' events as they
// are published, one JSON object per line, until interrupted.
func Tail(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tidings tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cursor := client.FromNow()
	fs.Func("cursor", "start after event id `N` (0: everything still retained; now, the default: from now)", func(s string) error {
		if s == "now" {
			// What "stopped; resume with --cursor" prints when nothing
			// was received yet.
			cursor = client.FromNow()
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return errors.New("want an event id (a whole number ≥ 0) or now")
		}
		cursor = client.After(n)
		return nil
	})
	var conn connFlags
	pos, code, done := conn.parse(fs, tailHelp, args, stdout)
	if done {
		return code
	}
	var topics []string
	for _, p := range pos {
		for t := range strings.SplitSeq(p, ",") {
			if t = strings.TrimSpace(t); t != "" {
				topics = append(topics, t)
			}
		}
	}
	if len(topics) == 0 {
		fmt.Fprintln(stderr, "tidings tail: name at least one topic (see tidings tail --help)")
		return 2
	}
	c, err := conn.client(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "tidings tail:", errText(err))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	sub := c.Subscribe(ctx, topics, cursor)
	defer sub.Close()
	for {
		ev, err := sub.Next()
		var reset *client.Reset
		switch {
		case err == nil:
			if _, err := stdout.Write(append(ev.Raw, '\n')); err != nil {
				fmt.Fprintln(stderr, "tidings tail: write:", err)
				return 1
			}
		case errors.As(err, &reset):
			fmt.Fprintf(stderr, "tidings tail: reset (%s): events may have been missed; continuing after %d\n", reset.Reason, reset.Cursor)
		case ctx.Err() != nil:
			fmt.Fprintf(stderr, "tidings tail: stopped; resume with --cursor %s\n", sub.Cursor())
			return 0
		default:
			fmt.Fprintln(stderr, "tidings tail:", errText(err))
			return 1
		}
	}
}
