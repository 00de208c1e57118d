package stream_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/stream"
	"github.com/tidings/tidings/stream/streamtest"
)

// messages are written exactly so, and are where FuzzMessage starts.
var messages = []struct {
	name string
	msg  stream.Message
	want string
}{
	{"data only", stream.Message{Data: "x"}, "data: x\n\n"},
	{"all fields", stream.Message{ID: "7", Event: "order.paid", Data: `{"a":1}`}, "id: 7\nevent: order.paid\ndata: {\"a\":1}\n\n"},
	{"multi-line data", stream.Message{Data: "a\nb\r\nc\rd"}, "data: a\ndata: b\ndata: c\ndata: d\n\n"},
	{"empty data", stream.Message{ID: "1"}, "id: 1\ndata: \n\n"},
}

// badMessages hold a line break (or, in an id, a NUL) where no field value
// may have one.
var badMessages = []stream.Message{{ID: "1\n2"}, {ID: "1\r"}, {ID: "a\x00"}, {Event: "x\ny"}, {Event: "x\r"}}

func TestMessageWriteTo(t *testing.T) {
	t.Parallel()
	for _, tt := range messages {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := tt.msg.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	for _, bad := range badMessages {
		if _, err := bad.WriteTo(&bytes.Buffer{}); !errors.Is(err, stream.ErrNewline) {
			t.Errorf("%+v: err = %v, want ErrNewline", bad, err)
		}
	}
}

func TestControlBlocks(t *testing.T) {
	t.Parallel()
	if got, want := string(stream.CursorBlock(41, "")), "id: 41\nevent: tidings.cursor\ndata: {\"cursor\":41}\n\n"; got != want {
		t.Errorf("cursor block = %q, want %q", got, want)
	}
	if got, want := string(stream.CursorBlock(57, stream.EndMaxDuration)), "id: 57\nevent: tidings.cursor\ndata: {\"cursor\":57,\"end\":\"max_duration\"}\n\n"; got != want {
		t.Errorf("final block = %q, want %q", got, want)
	}
	if got, want := string(stream.ResetBlock(store.ResetExpired, 9)), "id: 9\nevent: tidings.reset\ndata: {\"reason\":\"cursor_expired\",\"cursor\":9}\n\n"; got != want {
		t.Errorf("reset block = %q, want %q", got, want)
	}
	if got, want := string(stream.Retry(1500)), "retry: 1500\n"; got != want {
		t.Errorf("retry = %q, want %q", got, want)
	}
	if got, want := string(stream.Ping), ": ping\n"; got != want {
		t.Errorf("ping = %q, want %q", got, want)
	}
}

func TestEncode(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 8, 15, 30, 123_000_000, time.UTC)
	e := stream.Encode(store.Event{ID: 42, Topic: "orders", Type: "order.paid", Data: json.RawMessage(`{"s":"你好\n"}`), Time: at})
	wantJSON := `{"id":42,"topic":"orders","type":"order.paid","data":{"s":"你好\n"},"time":"2026-11-22T08:15:30.123Z"}`
	if string(e.JSON) != wantJSON {
		t.Errorf("json = %s, want %s", e.JSON, wantJSON)
	}
	if want := "id: 42\nevent: order.paid\ndata: " + wantJSON + "\n\n"; string(e.Frame) != want {
		t.Errorf("frame = %q, want %q", e.Frame, want)
	}
	var obj map[string]any
	if err := json.Unmarshal(e.JSON, &obj); err != nil {
		t.Fatalf("json does not parse: %v", err)
	}
	m := stream.Encode(store.Event{ID: 1, Topic: "t", Type: "message", Data: json.RawMessage(`null`), Time: at})
	if strings.Contains(string(m.Frame), "event:") {
		t.Errorf("type message wrote an event field: %q", m.Frame)
	}
}

// blocks reads an event stream as a client would, failing the test on a
// framing fault.
func blocks(t *testing.T, b []byte) []streamtest.Item {
	t.Helper()
	out, err := streamtest.Blocks(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	return out
}

// FuzzMessage checks that no field value can add a field or a block: the
// stream parses back to exactly the message written.
func FuzzMessage(f *testing.F) {
	for _, m := range messages {
		f.Add(m.msg.ID, m.msg.Event, m.msg.Data)
	}
	for _, m := range badMessages {
		f.Add(m.ID, m.Event, m.Data)
	}
	f.Add("1", "order.paid", "hello")
	f.Add("", "", "a\nb\r\nc")
	f.Add("9", "x", "data: injected\n\nid: 666")
	f.Add("1\n", "e\r", "\r\n\r\n")
	f.Fuzz(func(t *testing.T, id, event, data string) {
		var buf bytes.Buffer
		_, err := stream.Message{ID: id, Event: event, Data: data}.WriteTo(&buf)
		if strings.ContainsAny(id, "\r\n\x00") || strings.ContainsAny(event, "\r\n") {
			if err == nil {
				t.Fatalf("id %q event %q accepted", id, event)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		got := blocks(t, buf.Bytes())
		if len(got) != 1 {
			t.Fatalf("%q parsed into %d blocks", buf.String(), len(got))
		}
		// Line ends inside data come back as LF, as a client sees them.
		wantData := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data)
		if b := got[0]; b.Data != wantData || b.ID != id || b.HasID != (id != "") || b.Event != event {
			t.Fatalf("round trip = %+v, want id %q event %q data %q", b, id, event, wantData)
		}
	})
}

// FuzzEncode checks an event's frame is always one block whose data is its
// JSON object, for any compact JSON data.
func FuzzEncode(f *testing.F) {
	f.Add(int64(1), "message", `{"a":"b"}`)
	f.Add(int64(9), "order.paid", `"line\nbreak\u2028"`)
	f.Fuzz(func(t *testing.T, id int64, typ, data string) {
		var compact bytes.Buffer
		if id <= 0 || typ == "" || strings.ContainsAny(typ, "\r\n\"\\") || json.Compact(&compact, []byte(data)) != nil {
			return
		}
		e := stream.Encode(store.Event{ID: id, Topic: "t", Type: typ, Data: compact.Bytes(), Time: time.Unix(0, 0)})
		got := blocks(t, e.Frame)
		if len(got) != 1 || got[0].Data != string(e.JSON) {
			t.Fatalf("frame %q parsed as %+v", e.Frame, got)
		}
		var obj struct {
			ID   int64           `json:"id"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(e.JSON, &obj); err != nil || obj.ID != id {
			t.Fatalf("json %s: %v", e.JSON, err)
		}
	})
}
