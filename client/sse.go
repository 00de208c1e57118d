package client

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// maxLine bounds one line of an event stream, so a broken or hostile
// server cannot make the client buffer without limit.
const maxLine = 8 << 20

// errLineTooLong is returned for a line longer than maxLine.
var errLineTooLong = errors.New("event stream line too long")

// sseEvent is one dispatched block of an event stream.
type sseEvent struct {
	ID    string // the last event id after this block
	HasID bool   // whether this block set it
	Type  string // "message" when the block named none
	Data  string
}

// sseReader parses an event stream by the WHATWG rules: lines end with CR,
// LF or CRLF; a blank line dispatches; "data" lines accumulate, joined by
// LF; one space after the colon is dropped; comments and unknown fields are
// ignored; an id holding NUL is ignored; retry takes ASCII digits only; a
// block with no data is not dispatched; an unfinished block at the end of
// the stream is dropped.
type sseReader struct {
	br     *bufio.Reader
	line   []byte
	skipLF bool // the previous line ended with CR: a following LF belongs to it
	start  bool // at the start of the stream, where a BOM is dropped

	lastID string
	// Retry is the last valid retry: value, or -1.
	Retry int64
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{br: bufio.NewReaderSize(r, 32<<10), start: true, Retry: -1}
}

// readLine returns the next line without its end. It never reads past the
// line end, so a block ended by a lone CR dispatches without waiting for
// more bytes.
func (r *sseReader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		if r.br.Buffered() == 0 {
			if _, err := r.br.Peek(1); err != nil {
				if err == io.EOF && len(r.line) > 0 {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
		}
		buf, _ := r.br.Peek(r.br.Buffered())
		if r.skipLF {
			r.skipLF = false
			if buf[0] == '\n' {
				r.br.Discard(1)
				continue
			}
		}
		if r.start {
			if len(buf) < 3 && bytes.HasPrefix([]byte("\xEF\xBB\xBF"), buf) {
				// Maybe a BOM cut short: wait for the rest.
				if _, err := r.br.Peek(3); err == nil {
					continue
				}
			}
			r.start = false
			if bytes.HasPrefix(buf, []byte("\xEF\xBB\xBF")) {
				r.br.Discard(3)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		if i < 0 {
			if len(r.line)+len(buf) > maxLine {
				return nil, errLineTooLong
			}
			r.line = append(r.line, buf...)
			r.br.Discard(len(buf))
			continue
		}
		if len(r.line)+i > maxLine {
			return nil, errLineTooLong
		}
		r.line = append(r.line, buf[:i]...)
		r.skipLF = buf[i] == '\r'
		r.br.Discard(i + 1)
		return r.line, nil
	}
}

// Next returns the next dispatched block. At the end of the stream it
// returns io.EOF (or io.ErrUnexpectedEOF inside a line); a block that was
// not finished by a blank line is dropped.
func (r *sseReader) Next() (sseEvent, error) {
	var (
		data    []byte
		hasData bool
		typ     string
		hasID   bool
	)
	for {
		line, err := r.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if !hasData {
				// WHATWG: an empty data buffer dispatches nothing, but the
				// id it set stays the last event id.
				typ, hasID = "", false
				continue
			}
			if typ == "" {
				typ = "message"
			}
			return sseEvent{ID: r.lastID, HasID: hasID, Type: typ, Data: string(data)}, nil
		}
		if line[0] == ':' {
			continue // a comment, such as the heartbeat
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		case "event":
			typ = string(value)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				r.lastID = string(value)
				hasID = true
			}
		case "retry":
			if n, ok := digits(value); ok {
				r.Retry = n
			}
		}
	}
}

// digits parses a non-empty run of ASCII digits.
func digits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 12 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}
