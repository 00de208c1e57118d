// Package streamtest holds what the tests of stream, handlers and console
// share: a strict reader of Server-Sent Events, the fixture of the fan-out
// benchmarks, and a check of an answer's status and headers. It imports
// only the standard library, store and stream.
package streamtest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tidings/tidings/stream"
)

// Item is one thing read off an event stream: a block (its lines up to the
// blank line that ends it) or a lone comment line between blocks.
type Item struct {
	Raw     string // the exact bytes, line ends included
	Comment bool
	Retry   string
	ID      string
	HasID   bool
	Event   string
	Data    string // the data lines joined with "\n", as a client dispatches them
}

// IsCursor reports whether the item is a tidings.cursor block.
func (it Item) IsCursor() bool { return !it.Comment && it.Event == stream.TypeCursor }

// Control is what a tidings.cursor block's data holds.
type Control struct {
	Cursor int64
	End    string // why the stream ended; "" in a starting block
}

// Control decodes the item's data as a cursor block's, strictly: exactly
// {"cursor":N}, or {"cursor":N,"end":"reason"}.
func (it Item) Control() (Control, error) {
	var d struct {
		Cursor *int64 `json:"cursor"`
		End    string `json:"end"`
	}
	dec := json.NewDecoder(strings.NewReader(it.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Control{}, fmt.Errorf("control block data %q: %w", it.Data, err)
	}
	if d.Cursor == nil {
		return Control{}, fmt.Errorf("control block data %q: no cursor", it.Data)
	}
	return Control{Cursor: *d.Cursor, End: d.End}, nil
}

// Reader reads items off an event stream. It is strict where a client is
// lenient, so that a test sees what the server got wrong: a blank line
// with no block before it (a client would dispatch an empty event) and a
// stream that ends inside a block are errors.
type Reader struct {
	br *bufio.Reader
}

// NewReader reads from r.
func NewReader(r io.Reader) *Reader { return &Reader{br: bufio.NewReader(r)} }

// Next returns the next item. At a clean end of the stream it returns
// io.EOF; on any other error, the item holds in Raw what was read of it.
func (r *Reader) Next() (Item, error) {
	var it Item
	lines := 0
	hasData := false
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" && lines == 0 {
				return it, io.EOF
			}
			it.Raw += line
			if err == io.EOF {
				err = fmt.Errorf("stream ended inside a block: %q: %w", it.Raw, io.ErrUnexpectedEOF)
			}
			return it, err
		}
		text := strings.TrimSuffix(line, "\n")
		switch {
		case text == "":
			it.Raw += line
			if lines == 0 {
				return it, errors.New("blank line with no block before it: an empty event would be dispatched")
			}
			return it, nil
		case strings.HasPrefix(text, ":") && lines == 0:
			return Item{Raw: line, Comment: true}, nil
		}
		it.Raw += line
		lines++
		name, value, _ := strings.Cut(text, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "retry":
			it.Retry = value
		case "id":
			it.ID, it.HasID = value, true
		case "event":
			it.Event = value
		case "data":
			if hasData {
				it.Data += "\n"
			}
			it.Data += value
			hasData = true
		}
	}
}

// Blocks reads r to its end and returns its blocks, comments left out.
func Blocks(r io.Reader) ([]Item, error) {
	rd := NewReader(r)
	var out []Item
	for {
		it, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if !it.Comment {
			out = append(out, it)
		}
	}
}
