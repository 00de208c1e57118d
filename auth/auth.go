// Package auth checks tidings' access tokens: HS256 JWTs whose claims list
// the topic patterns a holder may publish and subscribe to. It knows
// nothing of HTTP; the handlers find the token in a request and turn this
// package's errors into answers.
package auth

import (
	"encoding/base64"
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
	// Rate, when present, is the holder's own publish rate in events per
	// second, in place of the server's TIDINGS_PUBLISH_RATE; 0 means no
	// limit.
	Rate *float64 `json:"tidings.rate,omitempty"`
	jwt.RegisteredClaims
}

// Validate refuses a negative or non-numeric rate; the parser calls it
// after the registered claims are checked.
func (c *Claims) Validate() error {
	if c.Rate != nil && !(*c.Rate >= 0) {
		return errors.New("tidings.rate must be 0 or more")
	}
	return nil
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
		// Only the canonical base64 spelling of each segment: a token has
		// one spelling, so it is one publisher to the rate limit.
		jwt.WithStrictDecoding(),
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
	c, err := a.Publisher(token)
	if err != nil {
		return nil, err
	}
	return c, a.MayPublish(c, topics...)
}

// Publisher verifies a publisher's token, before anything else of the
// request is read: ErrNoToken or ErrBadToken, or the claims (nil in open
// mode).
func (a *Authorizer) Publisher(token string) (*Claims, error) {
	if a.Open() {
		return nil, nil
	}
	return a.Token(token)
}

// MayPublish checks that claims from Publisher (nil in open mode) cover
// every topic.
func (a *Authorizer) MayPublish(c *Claims, topics ...string) error {
	if a.Open() {
		return nil
	}
	if c == nil {
		return ErrNoToken
	}
	for _, t := range topics {
		if !matchAny(c.Publish, t) {
			return ErrNotAllowed
		}
	}
	return nil
}

// PublisherKey names the publisher a token stands for, for the per
// publisher rate limit: its subject ("sub") when it has one, else its
// signature as bytes (decoded strictly, so one token is one key however it
// was written).
func PublisherKey(token string, c *Claims) string {
	if c.Subject != "" {
		return "sub:" + c.Subject
	}
	sig := token[strings.LastIndexByte(token, '.')+1:]
	if b, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimRight(sig, "=")); err == nil {
		return "sig:" + string(b)
	}
	return "token:" + sig
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
	return MintClaims(secret, Claims{Publish: publish, Subscribe: subscribe}, ttl, now)
}

// MintClaims signs c, with its issue and expiry times set from now and
// ttl.
func MintClaims(secret string, c Claims, ttl time.Duration, now time.Time) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	c.IssuedAt = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
}
