package store

// ValidTopic reports whether s is a topic name: it matches
// ^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$ (no commas, slashes or spaces).
func ValidTopic(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case (c == '.' || c == ':' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}
