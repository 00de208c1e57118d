package stream_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
)

// FuzzAppendJSONString checks the helper against encoding/json: the same
// bytes as json.Marshal, valid JSON, and a round trip back to the string.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{
		"", "orders", "tidings.cursor", `say "hi" \ bye`, "tab\tnew\nline\r\b\f",
		"\x00\x01\x1f\x7f", "<script>&amp;</script>", "line\u2028para\u2029",
		"bad \xff\xfe utf-8 \xe2\x80", `\x41 \u0041 \U00000041`, "你好, 🌍",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := stream.AppendJSONString([]byte("prefix"), s)
		if !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatalf("%q lost what it appended to", got)
		}
		got = got[len("prefix"):]
		want, _ := json.Marshal(s)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendJSONString(%q) = %s, json.Marshal = %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s is not a JSON string: %v", got, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip of %q = %q", s, back)
		}
	})
}

// TestAppendJSONStringNoAllocs guards why event encoding, control blocks
// and error answers use the helper rather than json.Marshal: with room in
// the buffer it allocates nothing, escapes or not.
func TestAppendJSONStringNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	for _, s := range []string{"orders.eu-west", "a \"quoted\" <name>\n\xff\u2028"} {
		if n := testing.AllocsPerRun(100, func() { buf = stream.AppendJSONString(buf[:0], s) }); n != 0 {
			t.Errorf("AppendJSONString(%q) allocates %v times, want 0", s, n)
		}
	}
}

// TestEncodeAllocations guards why Encode sizes one buffer for the frame
// and lets the JSON share it: an event costs two allocations, the buffer
// and the Event, however it is read afterwards.
func TestEncodeAllocations(t *testing.T) {
	e := store.Event{ID: 42, Topic: "orders", Type: "order.paid", Data: []byte(`{"total":12.5}`), Time: time.UnixMilli(1763798400123)}
	if n := testing.AllocsPerRun(100, func() { stream.Encode(e) }); n != 2 {
		t.Errorf("Encode allocates %v times, want 2", n)
	}
}
