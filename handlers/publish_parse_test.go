package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

// FuzzParsePublishFast checks the reflection-free reader against
// encoding/json: whatever it accepts, encoding/json decodes (with unknown
// fields refused) to the same values; and data it keeps as it came is
// what json.Compact makes of it.
func FuzzParsePublishFast(f *testing.F) {
	for _, s := range []string{
		`{"data":{"t":1}}`, ` { "data" : [1, 2] , "type":"a.b", "key":"k" } `, `{"data":null}`,
		`{}`, `{"data":"x\"y"}`, `{"Data":1}`, `{"data":1,"data":2}`, `{"data":1} {}`,
		`{"type":"\u0041","data":1}`, `{"data":{"a":"}"}}`, `{"data":tru}`, `{"data":1,}`,
		`{"data":"é"}`, `{"data":[{"a":[1,{"b":null}]},"]"]}`, `{"type":null,"data":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := parsePublishFast(b)
		if ok {
			var want struct {
				Data json.RawMessage `json:"data"`
				Type *string         `json:"type"`
				Key  string          `json:"key"`
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&want); err != nil {
				t.Fatalf("fast reader accepted %q, encoding/json: %v", b, err)
			}
			if _, err := dec.Token(); err != io.EOF {
				t.Fatalf("fast reader accepted %q with more after the object", b)
			}
			if !bytes.Equal(got.Data, want.Data) || (got.Type == nil) != (want.Type == nil) || got.Type != nil && *got.Type != *want.Type || got.Key != want.Key {
				t.Fatalf("%q: fast %q %v %q, encoding/json %q %v %q", b, got.Data, got.Type, got.Key, want.Data, want.Type, want.Key)
			}
		}
		if isCompact(b) && json.Valid(b) {
			var buf bytes.Buffer
			if err := json.Compact(&buf, b); err != nil || !bytes.Equal(buf.Bytes(), b) {
				t.Fatalf("%q counted as compact, json.Compact gives %q (%v)", b, buf.Bytes(), err)
			}
		}
	})
}
