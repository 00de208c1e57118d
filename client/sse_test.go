package client

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll parses a whole stream, returning the blocks and the final error.
func readAll(r io.Reader) ([]sseEvent, int64, error) {
	rd := newSSEReader(r)
	var out []sseEvent
	for {
		e, err := rd.Next()
		if err != nil {
			return out, rd.Retry, err
		}
		out = append(out, e)
	}
}

func TestSSEReader(t *testing.T) {
	t.Parallel()
	msg := func(id, typ, data string) sseEvent {
		return sseEvent{ID: id, HasID: id != "", Type: typ, Data: data}
	}
	tests := []struct {
		name  string
		in    string
		want  []sseEvent
		retry int64
	}{
		{"lf", "id: 1\ndata: a\n\n", []sseEvent{msg("1", "message", "a")}, -1},
		{"crlf", "id: 1\r\nevent: x\r\ndata: a\r\n\r\n", []sseEvent{msg("1", "x", "a")}, -1},
		{"cr", "id: 1\revent: x\rdata: a\r\r", []sseEvent{msg("1", "x", "a")}, -1},
		{"mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n", []sseEvent{msg("", "message", "a\nb\nc")}, -1},
		{"multi-line data", "data: one\ndata: two\ndata:\n\n", []sseEvent{msg("", "message", "one\ntwo\n")}, -1},
		{"empty data line dispatches", "data\n\n", []sseEvent{msg("", "message", "")}, -1},
		{"no space after colon", "data:a\n\n", []sseEvent{msg("", "message", "a")}, -1},
		{"only one space dropped", "data:  a\n\n", []sseEvent{msg("", "message", " a")}, -1},
		{"comments ignored", ": ping\n: ping\ndata: a\n: mid\n\n", []sseEvent{msg("", "message", "a")}, -1},
		{"unknown fields ignored", "foo: bar\nDATA: no\ndata: a\nevent\n\n", []sseEvent{msg("", "message", "a")}, -1},
		{"block without data not dispatched", "id: 5\nevent: x\n\ndata: a\n\n", []sseEvent{{ID: "5", Type: "message", Data: "a"}}, -1},
		{"id persists", "id: 7\ndata: a\n\ndata: b\n\n", []sseEvent{msg("7", "message", "a"), {ID: "7", Type: "message", Data: "b"}}, -1},
		{"id with NUL ignored", "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n", []sseEvent{msg("1", "message", "a"), {ID: "1", Type: "message", Data: "b"}}, -1},
		{"retry", "retry: 1500\ndata: a\n\nretry: 2x\nretry: -1\n\n", []sseEvent{msg("", "message", "a")}, 1500},
		{"bom dropped", "\xEF\xBB\xBFdata: a\n\n", []sseEvent{msg("", "message", "a")}, -1},
		{"unfinished block dropped", "data: a\n\ndata: b\n", []sseEvent{msg("", "message", "a")}, -1},
		{"event type resets per block", "event: x\ndata: a\n\ndata: b\n\n", []sseEvent{msg("", "x", "a"), msg("", "message", "b")}, -1},
		{"tidings blocks", "retry: 1000\nid: 41\nevent: tidings.cursor\ndata: {\"cursor\":41}\n\n: ping\nid: 42\ndata: {\"id\":42}\n\n",
			[]sseEvent{msg("41", "tidings.cursor", `{"cursor":41}`), msg("42", "message", `{"id":42}`)}, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			readers := map[string]io.Reader{
				"whole":       strings.NewReader(tt.in),
				"byte a time": iotest.OneByteReader(strings.NewReader(tt.in)),
			}
			for how, r := range readers {
				got, retry, err := readAll(r)
				if err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Errorf("%s: err = %v, want end of stream", how, err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s: got %#v, want %#v", how, got, tt.want)
				}
				if retry != tt.retry {
					t.Errorf("%s: retry = %d, want %d", how, retry, tt.retry)
				}
			}
		})
	}
}

// A block ended by a lone CR dispatches without waiting for the next byte:
// the reader must not block to look for an LF.
func TestSSEReaderDoesNotWaitAfterCR(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte("data: a\r\r"))
	rd := newSSEReader(pr)
	got, err := rd.Next()
	if err != nil || got.Data != "a" {
		t.Fatalf("got %#v, %v; want data a", got, err)
	}
	// The LF that may follow still belongs to the previous line.
	go pw.Write([]byte("\ndata: b\n\n"))
	got, err = rd.Next()
	if err != nil || got.Data != "b" {
		t.Fatalf("got %#v, %v; want data b", got, err)
	}
}

func TestSSEReaderLineLimit(t *testing.T) {
	t.Parallel()
	in := "data: " + strings.Repeat("x", maxLine) + "\n\n"
	_, _, err := readAll(strings.NewReader(in))
	if !errors.Is(err, errLineTooLong) {
		t.Fatalf("err = %v, want %v", err, errLineTooLong)
	}
}

// FuzzSSEReader checks that how the stream is cut into reads never changes
// what is parsed, and that parsing never panics.
func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{
		"id: 1\ndata: a\n\n",
		"data: a\r\n\r\ndata: b\r\r",
		"\xEF\xBB\xBFretry: 10\n: c\nevent: x\ndata\n\n",
		"id: 1\x00\ndata:\n\ndata: z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		whole, r1, err1 := readAll(strings.NewReader(in))
		bytewise, r2, err2 := readAll(iotest.OneByteReader(strings.NewReader(in)))
		if !reflect.DeepEqual(whole, bytewise) || r1 != r2 || err1 != err2 {
			t.Fatalf("whole: %#v %d %v; byte a time: %#v %d %v", whole, r1, err1, bytewise, r2, err2)
		}
		for _, e := range whole {
			if e.Type == "" {
				t.Fatalf("dispatched block without a type: %#v", e)
			}
		}
	})
}
