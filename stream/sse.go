package stream

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Control block types. Types beginning with "tidings." are reserved for the
// server.
const (
	TypeCursor = "tidings.cursor"
	TypeReset  = "tidings.reset"
)

// Reasons a bounded SSE response ends, carried in its final cursor block.
const (
	EndMaxDuration  = "max_duration"
	EndShuttingDown = "shutting_down"
	EndOverloaded   = "overloaded"
)

// ErrNewline is returned when an SSE field that must be one line holds a
// line break: writing it would let the value inject fields or events.
var ErrNewline = errors.New("sse: line break in single-line field")

// Message is one SSE block. It writes itself; Data may span several lines
// and is split into one "data:" line each.
type Message struct {
	ID    string
	Event string
	Data  string
}

// WriteTo writes the block, ending with a blank line.
func (m Message) WriteTo(w io.Writer) (int64, error) {
	b, err := m.AppendTo(nil)
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}

// AppendTo appends the encoded block to b.
func (m Message) AppendTo(b []byte) ([]byte, error) {
	if strings.ContainsAny(m.ID, "\r\n\x00") || strings.ContainsAny(m.Event, "\r\n") {
		return b, ErrNewline
	}
	if m.ID != "" {
		b = append(b, "id: "...)
		b = append(b, m.ID...)
		b = append(b, '\n')
	}
	if m.Event != "" {
		b = append(b, "event: "...)
		b = append(b, m.Event...)
		b = append(b, '\n')
	}
	data := m.Data
	for {
		line, rest, more := cutLine(data)
		b = append(b, "data: "...)
		b = append(b, line...)
		b = append(b, '\n')
		if !more {
			break
		}
		data = rest
	}
	return append(b, '\n'), nil
}

// cutLine splits s at the first CRLF, LF or CR, the line ends of SSE.
func cutLine(s string) (line, rest string, found bool) {
	i := strings.IndexAny(s, "\r\n")
	if i < 0 {
		return s, "", false
	}
	if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
		return s[:i], s[i+2:], true
	}
	return s[:i], s[i+1:], true
}

// Retry is the "retry:" line that opens every response. The block that
// follows it (the starting cursor or reset block) completes it.
func Retry(ms int64) []byte {
	return append(strconv.AppendInt([]byte("retry: "), ms, 10), '\n')
}

// Ping is the heartbeat: a lone comment line, with no blank line after it so
// no client dispatches an empty event.
var Ping = []byte(": ping\n")

// CursorBlock is a tidings.cursor block. end is "" for the starting block or
// one of the End* reasons for the final one.
func CursorBlock(cursor int64, end string) []byte {
	id := strconv.FormatInt(cursor, 10)
	var data []byte
	data = append(data, `{"cursor":`...)
	data = append(data, id...)
	if end != "" {
		data = append(data, `,"end":`...)
		data = AppendJSONString(data, end)
	}
	data = append(data, '}')
	b, _ := Message{ID: id, Event: TypeCursor, Data: string(data)}.AppendTo(nil)
	return b
}

// ResetBlock is a tidings.reset block: the cursor could not be honoured and
// the subscription continues from cursor.
func ResetBlock(reason string, cursor int64) []byte {
	id := strconv.FormatInt(cursor, 10)
	var data bytes.Buffer
	data.WriteString(`{"reason":`)
	data.Write(AppendJSONString(nil, reason))
	data.WriteString(`,"cursor":`)
	data.WriteString(id)
	data.WriteByte('}')
	b, _ := Message{ID: id, Event: TypeReset, Data: data.String()}.AppendTo(nil)
	return b
}
