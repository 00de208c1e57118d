// Package auth checks tidings' access tokens: HS256 JWTs whose claims list
// the topic patterns a holder may publish and subscribe to. It knows
// nothing of HTTP; the handlers find the token in a request and turn this
// package's errors into answers.
package auth

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tidings/tidings/store"
)

// MinSecretBytes is the shortest TIDINGS_SECRET accepted: HS256 keys
// shorter than the hash are easier to guess than the signature is to forge.
const MinSecretBytes = 32

// Errors the HTTP layer tells apart. None of them holds the token.
var (
	// ErrNoToken: a token is needed and none was sent.
	ErrNoToken = errors.New("token required")
	// ErrBadToken: the token is malformed, wrongly signed or expired.
	ErrBadToken = errors.New("token invalid")
	// ErrNotAllowed: the token is valid but does not cover every topic.
	ErrNotAllowed = errors.New("token does not cover every topic")
)

// Claims are the token claims tidings reads. Exp is required.
type Claims struct {
	Publish   []string `json:"tidings.publish,omitempty"`
	Subscribe []string `json:"tidings.subscribe,omitempty"`
	jwt.RegisteredClaims
}

// Authorizer checks tokens and topic patterns. A nil secret means open
// mode: everything is allowed.
type Authorizer struct {
	secret []byte
	public []string
	parser *jwt.Parser
}

// NewAuthorizer returns an Authorizer for secret (empty: open) and the
// patterns anyone may subscribe to.
func NewAuthorizer(secret string, publicTopics []string) (*Authorizer, error) {
	a := &Authorizer{public: publicTopics}
	for _, p := range publicTopics {
		if !ValidPattern(p) {
			return nil, errors.New("TIDINGS_PUBLIC_TOPICS: " + p + " is not a topic or a prefix ending in *")
		}
	}
	if secret == "" {
		return a, nil
	}
	if len(secret) < MinSecretBytes {
		return nil, errors.New("TIDINGS_SECRET must be at least 32 bytes long; generate one with: openssl rand -base64 32")
	}
	a.secret = []byte(secret)
	// The algorithm is pinned: "none" and every other algorithm are
	// refused, whatever the token's header says.
	a.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(5*time.Second),
	)
	return a, nil
}

// Open reports whether no secret is configured.
func (a *Authorizer) Open() bool { return a.secret == nil }

// ValidPattern reports whether p is a topic, "*", or a topic prefix
// followed by "*".
func ValidPattern(p string) bool {
	if p == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(p, "*"); ok {
		return store.ValidTopic(prefix)
	}
	return store.ValidTopic(p)
}

// MatchPattern reports whether pattern covers topic.
func MatchPattern(pattern, topic string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(topic, prefix)
	}
	return pattern == topic
}

func matchAny(patterns []string, topic string) bool {
	for _, p := range patterns {
		if ValidPattern(p) && MatchPattern(p, topic) {
			return true
		}
	}
	return false
}

// Token parses and verifies a raw token.
func (a *Authorizer) Token(raw string) (*Claims, error) {
	if raw == "" {
		return nil, ErrNoToken
	}
	c := &Claims{}
	if _, err := a.parser.ParseWithClaims(raw, c, func(*jwt.Token) (any, error) { return a.secret, nil }); err != nil {
		return nil, ErrBadToken
	}
	return c, nil
}

// CanPublish checks that token allows publishing on every topic. It
// returns the verified claims (nil in open mode).
func (a *Authorizer) CanPublish(token string, topics ...string) (*Claims, error) {
	if a.Open() {
		return nil, nil
	}
	c, err := a.Token(token)
	if err != nil {
		return nil, err
	}
	for _, t := range topics {
		if !matchAny(c.Publish, t) {
			return nil, ErrNotAllowed
		}
	}
	return c, nil
}

// CanSubscribe checks that every topic is public or covered by token
// (empty: none sent). A token that is sent is verified even when every
// topic is public.
func (a *Authorizer) CanSubscribe(token string, topics []string) error {
	if a.Open() {
		return nil
	}
	var c *Claims
	if token != "" {
		var err error
		if c, err = a.Token(token); err != nil {
			return err
		}
	}
	for _, t := range topics {
		if matchAny(a.public, t) {
			continue
		}
		if c == nil {
			return ErrNoToken
		}
		if !matchAny(c.Subscribe, t) {
			return ErrNotAllowed
		}
	}
	return nil
}

// SubscribeScope returns the patterns a holder of token (empty: none
// sent) may subscribe to: the public patterns and the token's. A token
// that is sent must be valid. In open mode it is "*".
func (a *Authorizer) SubscribeScope(token string) ([]string, error) {
	if a.Open() {
		return []string{"*"}, nil
	}
	scope := a.public
	if token != "" {
		c, err := a.Token(token)
		if err != nil {
			return nil, err
		}
		scope = append(slices.Clip(scope), c.Subscribe...)
	}
	return scope, nil
}

// Mint signs a token for the given patterns, valid for ttl. It is what
// "tidings token" prints.
func Mint(secret string, publish, subscribe []string, ttl time.Duration, now time.Time) (string, error) {
	c := Claims{
		Publish:   publish,
		Subscribe: subscribe,
		RegisteredClaims: jwt.RegisteredClaims{
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
}
