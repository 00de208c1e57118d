package handlers

// The common publish body, {"data": ..., "type": "...", "key": "..."} with
// plain ASCII names, is read here without reflection. Anything else (an
// unknown or repeated field, escapes in a name, a null, a syntax error)
// goes to encoding/json, which decides and words the error: this path
// only ever accepts what encoding/json would decode to the same values.

import "encoding/json"

// parsePublishFast reads b as a publish body. ok is false when b must go
// through encoding/json instead.
func parsePublishFast(b []byte) (out publishBody, ok bool) {
	var seen [3]bool
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return out, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return out, skipSpace(b, i+1) == len(b)
	}
	for {
		key, end, ok := plainString(b, i)
		if !ok {
			return out, false
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return out, false
		}
		i = skipSpace(b, i+1)
		switch string(key) {
		case "data":
			if seen[0] {
				return out, false
			}
			seen[0] = true
			end, ok := skipValue(b, i)
			if !ok || end == i || !json.Valid(b[i:end]) {
				return out, false
			}
			out.Data = b[i:end:end]
			i = end
		case "type", "key":
			n := 1
			if key[0] == 'k' {
				n = 2
			}
			if seen[n] {
				return out, false
			}
			seen[n] = true
			v, end, ok := plainString(b, i)
			if !ok {
				return out, false
			}
			if n == 1 {
				t := string(v)
				out.Type = &t
			} else {
				out.Key = string(v)
			}
			i = end
		default:
			return out, false
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return out, skipSpace(b, i+1) == len(b)
		}
		return out, false
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i] made only of printable ASCII
// without escapes; it returns its contents and the index after it.
func plainString(b []byte, i int) (s []byte, end int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, i, false
		}
	}
	return nil, i, false
}

// skipValue returns the end of the JSON value starting at b[i], as far as
// brackets and strings tell; json.Valid then decides whether it is one.
func skipValue(b []byte, i int) (int, bool) {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(b) {
				return i, false
			}
			if depth == 0 {
				return i + 1, true
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i, true
			}
			depth--
			if depth == 0 {
				return i + 1, true
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i, true
			}
		}
		i++
	}
	return i, depth == 0
}

// isCompact reports whether JSON text b holds no space outside its
// strings, so that json.Compact would return it unchanged.
func isCompact(b []byte) bool {
	in := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}
