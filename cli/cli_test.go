package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tidings/tidings/auth"
	"github.com/tidings/tidings/server/servertest"
)

// apiServer runs a server on a fresh database and records the
// Authorization header of every request.
type apiServer struct {
	*servertest.Server
	mu   sync.Mutex
	auth []string
}

func startAPI(t *testing.T) *apiServer {
	t.Helper()
	s := &apiServer{}
	s.Server = servertest.Start(t, servertest.Options{Wrap: func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.auth = append(s.auth, r.Header.Get("Authorization"))
			s.mu.Unlock()
			api.ServeHTTP(w, r)
		})
	}})
	return s
}

func TestPublishData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in        string
		fromStdin bool
		want      string
	}{
		{`{"a": 1}`, false, `{"a": 1}`},
		{`42`, false, `42`},
		{`"42"`, false, `"42"`},
		{`null`, false, `null`},
		{`hello`, false, `"hello"`},
		{`hello world`, false, `"hello world"`},
		{`{"a":`, false, `"{\"a\":"`},
		{"", false, `""`},
		{"line\n", true, `"line"`},
		{"line\r\n", true, `"line"`},
		{"two\nlines\n", true, `"two\nlines"`},
		{"[1, 2]\n", true, "[1, 2]\n"},
		{"line\n", false, `"line\n"`},
	}
	for _, tt := range tests {
		if got := string(publishData([]byte(tt.in), tt.fromStdin)); got != tt.want {
			t.Errorf("publishData(%q, stdin=%v): got %s, want %s", tt.in, tt.fromStdin, got, tt.want)
		}
	}
}

// runCLI runs a subcommand in the test process.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	switch args[0] {
	case "publish":
		code = Publish(args[1:], strings.NewReader(stdin), &out, &errOut)
	case "tail":
		code = Tail(args[1:], &out, &errOut)
	case "version":
		code = Version(args[1:], &out, &errOut)
	case "token":
		code = Token(args[1:], &out, &errOut)
	default:
		t.Fatalf("no subcommand %s", args[0])
	}
	return code, out.String(), errOut.String()
}

func TestPublishCommand(t *testing.T) {
	t.Parallel()
	srv := startAPI(t)

	t.Run("flags anywhere, stored event printed", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "publish", "--url", srv.URL, "orders", "--type", "order.paid", `{"n":1}`, "--key", "k1", "--token", "tok")
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(out), &ev); err != nil || !strings.HasSuffix(out, "}\n") {
			t.Fatalf("stdout %q: want one JSON object and a newline (%v)", out, err)
		}
		if ev["topic"] != "orders" || ev["type"] != "order.paid" || ev["id"] == nil || ev["time"] == nil {
			t.Errorf("got %v, want the stored order.paid event on orders", ev)
		}
		srv.mu.Lock()
		last := srv.auth[len(srv.auth)-1]
		srv.mu.Unlock()
		if last != "Bearer tok" {
			t.Errorf("Authorization: got %q, want %q", last, "Bearer tok")
		}
		// The same key again: the original event, marked duplicate.
		_, again, _ := runCLI(t, "", "publish", "--url", srv.URL, "--key", "k1", "orders", `{"n":1}`)
		var dup map[string]any
		if err := json.Unmarshal([]byte(again), &dup); err != nil || dup["duplicate"] != true || dup["id"] != ev["id"] {
			t.Errorf("repeat: got %q, want event %v marked duplicate", again, ev["id"])
		}
	})
	t.Run("standard input", func(t *testing.T) {
		code, out, errOut := runCLI(t, "some text\n", "publish", "--url", srv.URL, "notes", "-")
		if code != 0 || !strings.Contains(out, `"topic":"notes"`) {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
	t.Run("server error", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "publish", "--url", srv.URL, "bad topic", "x")
		if code != 1 || out != "" || !strings.Contains(errOut, "400 invalid_topic") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 1 and the server's error", code, out, errOut)
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"publish"},
			{"publish", "a", "b", "c"},
			{"publish", "--nope", "a"},
		} {
			if code, _, _ := runCLI(t, "", args...); code != 2 {
				t.Errorf("%q: exit %d, want 2", args, code)
			}
		}
	})
}

func TestTailCommandErrors(t *testing.T) {
	t.Parallel()
	srv := startAPI(t)
	for _, tt := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no topic", []string{"tail", "--url", srv.URL}, 2, "name at least one topic"},
		{"bad cursor", []string{"tail", "--url", srv.URL, "t", "--cursor", "-1"}, 2, "want an event id"},
		{"bad cursor names now", []string{"tail", "--url", srv.URL, "t", "--cursor", "later"}, 2, "or now"},
		{"bad topic is final", []string{"tail", "--url", srv.URL, "bad topic"}, 1, "400 invalid_topic"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.msg)
			}
		})
	}
}

// Every flag and every environment variable is in each command's help,
// and the help goes to standard output.
func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"publish", "--help"}, []string{"-type", "-key", "-url", "-token", "-timeout", "TIDINGS_URL", "TIDINGS_TOKEN", "valid JSON", "JSON string"}},
		{[]string{"tail", "-h"}, []string{"-cursor", "-url", "-token", "TIDINGS_URL", "TIDINGS_TOKEN"}},
		{[]string{"version", "--help"}, []string{"github.com/tidings/tidings/cli.version"}},
		{[]string{"token", "--help"}, []string{"-publish", "-subscribe", "-ttl", "-rate", "-sub", "TIDINGS_SECRET"}},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			code, out, _ := runCLI(t, "", tt.args...)
			if code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
			missing := slices.DeleteFunc(slices.Clone(tt.want), func(w string) bool { return strings.Contains(out, w) })
			if len(missing) > 0 {
				t.Errorf("help does not mention %q:\n%s", missing, out)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "tidings dev") {
		t.Errorf("got %d %q, want tidings dev… (unstamped)", code, out)
	}
}

// tidings token --rate puts the holder's own publish rate in the token,
// which the server then applies.
func TestTokenRate(t *testing.T) {
	const secret = "cli-test-secret-0123456789abcdef0123"
	t.Setenv("TIDINGS_SECRET", secret)
	for _, tt := range []struct {
		args []string
		code int
		rate any // the claim, or nil when absent
	}{
		{[]string{"--publish", "*"}, 0, nil},
		{[]string{"--publish", "*", "--rate", "5"}, 0, 5.0},
		{[]string{"--publish", "*", "--rate", "0"}, 0, 0.0},
		{[]string{"--publish", "*", "--rate", "-1"}, 2, nil},
		{[]string{"--publish", "*", "--rate", "fast"}, 2, nil},
	} {
		code, out, errOut := runCLI(t, "", append([]string{"token"}, tt.args...)...)
		if code != tt.code {
			t.Errorf("token %q: exit %d (%s), want %d", tt.args, code, errOut, tt.code)
			continue
		}
		if code != 0 {
			continue
		}
		c, err := auth.NewAuthorizer(secret, nil)
		if err != nil {
			t.Fatal(err)
		}
		claims, err := c.Token(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("token %q: %v", tt.args, err)
		}
		var got any
		if claims.Rate != nil {
			got = *claims.Rate
		}
		if got != tt.rate {
			t.Errorf("token %q: tidings.rate %v, want %v", tt.args, got, tt.rate)
		}
	}
}

// TestFlagOnlyCommandsRefuseArguments: version and token take flags only;
// an argument or an unknown flag exits 2 with a message and prints nothing.
func TestFlagOnlyCommandsRefuseArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"version", "extra"}, `tidings version: unexpected argument "extra"`},
		{[]string{"token", "--publish", "x", "extra"}, `tidings token: unexpected argument "extra"`},
		{[]string{"version", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"token", "--bogus"}, "flag provided but not defined: -bogus"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, "", tt.args...)
			if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, %q", code, out, errOut, tt.want)
			}
		})
	}
}
