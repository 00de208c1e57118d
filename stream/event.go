package stream

import (
	"strconv"
	"time"

	"github.com/tidings/tidings/store"
)

// Event is a committed event with its wire forms encoded once: the JSON
// object that SSE and long-poll both hand to clients, and the SSE block.
type Event struct {
	ID    int64
	Topic string
	JSON  []byte // {"id":..,"topic":..,"type":..,"data":..,"time":..}, inside Frame
	Frame []byte // id: ..\n[event: ..\n]data: <JSON>\n\n
	// Committed is when the hub learnt of the commit; zero for events read
	// back from the store (their delivery is a catch-up, not live).
	Committed time.Time
}

// TimeFormat is RFC 3339 in UTC with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Encode builds the wire forms of e. Data must be compact JSON (no line
// breaks), which the publish path guarantees, and Topic and Type are
// validated names, so the data line can never be split.
func Encode(e store.Event) *Event {
	f := make([]byte, 0, len(e.Data)+len(e.Topic)+2*len(e.Type)+96)
	f = append(f, "id: "...)
	f = strconv.AppendInt(f, e.ID, 10)
	f = append(f, '\n')
	if e.Type != "message" {
		f = append(f, "event: "...)
		f = append(f, e.Type...)
		f = append(f, '\n')
	}
	f = append(f, "data: "...)
	start := len(f)
	f = append(f, `{"id":`...)
	f = strconv.AppendInt(f, e.ID, 10)
	f = append(f, `,"topic":`...)
	f = AppendJSONString(f, e.Topic)
	f = append(f, `,"type":`...)
	f = AppendJSONString(f, e.Type)
	f = append(f, `,"data":`...)
	f = append(f, e.Data...)
	f = append(f, `,"time":"`...)
	f = e.Time.UTC().AppendFormat(f, TimeFormat)
	f = append(f, `"}`...)
	end := len(f)
	f = append(f, "\n\n"...)
	// JSON shares the frame's memory.
	return &Event{ID: e.ID, Topic: e.Topic, JSON: f[start:end:end], Frame: f}
}
