package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tidings/tidings/auth"
)

const testSecret = "test-secret-0123456789abcdef0123456789"

// unsignedToken is an "alg: none" token, which must never be accepted.
func unsignedToken(c jwt.MapClaims) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	p, _ := json.Marshal(c)
	return h + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

func TestNewAuthorizerRefusesShortSecret(t *testing.T) {
	t.Parallel()
	if _, err := auth.NewAuthorizer("too-short", nil); err == nil {
		t.Fatal("a 9-byte secret was accepted")
	}
	if _, err := auth.NewAuthorizer("", []string{"bad/pattern"}); err == nil {
		t.Fatal("an invalid public pattern was accepted")
	}
}

func TestMintedTokenVerifies(t *testing.T) {
	t.Parallel()
	a, err := auth.NewAuthorizer(testSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(testSecret, []string{"orders.*"}, []string{"user:42"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Token(tok)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Publish, ",") != "orders.*" || strings.Join(c.Subscribe, ",") != "user:42" || c.ExpiresAt == nil {
		t.Fatalf("claims = %+v", c)
	}
}

func TestMatchPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, topic string
		want           bool
	}{
		{"*", "anything", true},
		{"orders", "orders", true},
		{"orders", "orders.eu", false},
		{"orders.*", "orders.eu", true},
		{"orders.*", "orders.", true},
		{"orders.*", "orders", false},
		{"user:*", "user:42", true},
		{"user:4*", "user:42", true},
		{"user:42", "user:420", false},
	}
	for _, tt := range tests {
		if got := auth.MatchPattern(tt.pattern, tt.topic); got != tt.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tt.pattern, tt.topic, got, tt.want)
		}
	}
	for _, bad := range []string{"", "a/b", "**", "a*b", "*a", ".x*", "a b"} {
		if auth.ValidPattern(bad) {
			t.Errorf("ValidPattern(%q) = true", bad)
		}
	}
}

var patternRE = regexp.MustCompile(`^(\*|[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}\*?)$`)

// FuzzMatchPattern checks the pattern rules against independent oracles:
// ValidPattern against a regular expression of the grammar, and
// MatchPattern, for valid patterns and topics, against path.Match (where a
// trailing * also matches any run of characters without a slash, and
// topics hold no slash).
func FuzzMatchPattern(f *testing.F) {
	f.Add("orders.*", "orders.eu")
	f.Add("*", "x")
	f.Add("user:42", "user:42")
	f.Add("user:4*", "user:420")
	f.Fuzz(func(t *testing.T, pattern, topic string) {
		if got, want := auth.ValidPattern(pattern), patternRE.MatchString(pattern); got != want {
			t.Fatalf("ValidPattern(%q) = %v, want %v", pattern, got, want)
		}
		if !auth.ValidPattern(pattern) || !topicRE.MatchString(topic) {
			return
		}
		want, err := path.Match(pattern, topic)
		if err != nil {
			t.Fatalf("path.Match(%q): %v", pattern, err)
		}
		if got := auth.MatchPattern(pattern, topic); got != want {
			t.Fatalf("MatchPattern(%q, %q) = %v, want %v", pattern, topic, got, want)
		}
	})
}

var topicRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$`)

// FuzzToken checks that no input but a token signed with the secret is
// accepted, and that verifying never panics.
func FuzzToken(f *testing.F) {
	a, err := auth.NewAuthorizer(testSecret, nil)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := auth.Mint(testSecret, []string{"*"}, nil, time.Hour, time.Now())
	f.Add(good)
	f.Add(unsignedToken(jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}))
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := a.Token(raw)
		if err != nil {
			return
		}
		// Accepted: it must verify as HS256 under the secret and hold exp.
		tok, perr := jwt.Parse(raw, func(*jwt.Token) (any, error) { return []byte(testSecret), nil }, jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
		if perr != nil || !tok.Valid || c.ExpiresAt == nil {
			t.Fatalf("accepted %q: %v", raw, perr)
		}
	})
}
