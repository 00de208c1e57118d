package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/tidings/tidings/client"
)

const publishHelp = `Usage: tidings publish [flags] TOPIC [DATA | -]

Publishes one event to TOPIC and prints the stored event as JSON once the
server has committed it.

DATA is JSON: {"order":7}, [1,2], 42, true, "text" or null. Anything that is
not valid JSON is sent as a JSON string, so "tidings publish chat hello"
sends "hello"; to send the string "42", quote it as JSON: '"42"'. With "-",
DATA is read from standard input (a non-JSON input loses one trailing
newline before it is sent as a string). Without DATA the event's data is
null. Put "--" before DATA that starts with "-".

Flags (anywhere on the line):
`

// Publish is "tidings publish TOPIC [DATA | -]": it publishes one event
// and prints the stored event as JSON.
func Publish(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tidings publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	typ := fs.String("type", "", "event `type` (default message)")
	key := fs.String("key", "", "idempotency `key`: a repeat with the same key and topic stores nothing and prints the original event")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	var conn connFlags
	pos, code, done := conn.parse(fs, publishHelp, args, stdout)
	if done {
		return code
	}
	if len(pos) < 1 || len(pos) > 2 {
		fmt.Fprintln(stderr, "tidings publish: want TOPIC and at most one DATA (see tidings publish --help)")
		return 2
	}
	var data json.RawMessage
	switch {
	case len(pos) == 1:
		data = json.RawMessage("null")
	case pos[1] == "-":
		in, err := io.ReadAll(stdin)
		if err != nil {
			fmt.Fprintln(stderr, "tidings publish: read standard input:", err)
			return 1
		}
		data = publishData(in, true)
	default:
		data = publishData([]byte(pos[1]), false)
	}
	c, err := conn.client(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "tidings publish:", errText(err))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	p, err := c.Publish(ctx, pos[0], data, client.PublishOptions{Type: *typ, Key: *key})
	if err != nil {
		fmt.Fprintln(stderr, "tidings publish:", errText(err))
		return 1
	}
	stdout.Write(append(p.Raw, '\n'))
	return 0
}

// publishData returns in if it is JSON, else in as a JSON string.
func publishData(in []byte, fromStdin bool) json.RawMessage {
	if json.Valid(in) {
		return in
	}
	if fromStdin {
		in = bytes.TrimSuffix(in, []byte("\n"))
		in = bytes.TrimSuffix(in, []byte("\r"))
	}
	s, _ := json.Marshal(string(in))
	return s
}
