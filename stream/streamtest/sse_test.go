package streamtest_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tidings/tidings/stream/streamtest"
)

// TestReader reads a stream holding every kind of item, then the two
// framing faults it must not pass over.
func TestReader(t *testing.T) {
	t.Parallel()
	in := "retry: 1000\nid: 0\nevent: tidings.cursor\ndata: {\"cursor\":0}\n\n" +
		": ping\n" +
		"id: 7\nevent: order.paid\ndata:\ndata: b\n: inside\ndata:c\n\n" +
		"id: 7\nevent: tidings.cursor\ndata: {\"cursor\":7,\"end\":\"max_duration\"}\n\n"
	rd := streamtest.NewReader(strings.NewReader(in))
	var got []streamtest.Item
	for {
		it, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, it)
	}
	want := []streamtest.Item{
		{Raw: "retry: 1000\nid: 0\nevent: tidings.cursor\ndata: {\"cursor\":0}\n\n", Retry: "1000", ID: "0", HasID: true, Event: "tidings.cursor", Data: `{"cursor":0}`},
		{Raw: ": ping\n", Comment: true},
		{Raw: "id: 7\nevent: order.paid\ndata:\ndata: b\n: inside\ndata:c\n\n", ID: "7", HasID: true, Event: "order.paid", Data: "\nb\nc"},
		{Raw: "id: 7\nevent: tidings.cursor\ndata: {\"cursor\":7,\"end\":\"max_duration\"}\n\n", ID: "7", HasID: true, Event: "tidings.cursor", Data: `{"cursor":7,"end":"max_duration"}`},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d items %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("item %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if c, err := got[3].Control(); err != nil || c != (streamtest.Control{Cursor: 7, End: "max_duration"}) || !got[3].IsCursor() || got[2].IsCursor() {
		t.Errorf("final block: %+v %v, cursor block %v, event block %v", c, err, got[3].IsCursor(), got[2].IsCursor())
	}
	if blocks, err := streamtest.Blocks(strings.NewReader(in)); err != nil || len(blocks) != 3 {
		t.Errorf("Blocks: %d blocks (%v), want 3 without the comment", len(blocks), err)
	}

	if _, err := streamtest.NewReader(strings.NewReader("\n")).Next(); err == nil {
		t.Error("a blank line with no block before it passed")
	}
	it, err := streamtest.NewReader(strings.NewReader("id: 1\ndata: x")).Next()
	if !errors.Is(err, io.ErrUnexpectedEOF) || it.Raw != "id: 1\ndata: x" {
		t.Errorf("stream ended inside a block: got %q, %v; want the partial block and io.ErrUnexpectedEOF", it.Raw, err)
	}
	for _, data := range []string{`{"end":"x"}`, `{"cursor":1,"more":true}`, `{"cursor":"1"}`} {
		if _, err := (streamtest.Item{Data: data}).Control(); err == nil {
			t.Errorf("control data %s accepted", data)
		}
	}
}
