package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// This file validates logout tokens as OpenID Connect Back-Channel Logout
// 1.0 asks (its section 2.6): a JWT signed by the identity provider with a
// key of its JWKS, with an allowed algorithm, from the configured issuer,
// for this client, recent, carrying the back-channel logout event, a sid or
// a sub, no nonce, and a jti not seen before. The signature and the claims
// are go-jose's; the rest is here.

// backchannelLogoutEvent is the member of the events claim that makes a JWT
// a logout token.
const backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// errInvalidToken is the class of every rejected logout token: the
// endpoint answers 400 and revokes nothing.
var errInvalidToken = errors.New("invalid logout token")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalidToken, fmt.Sprintf(format, args...))
}

// VerifierConfig is what the relying party knows of its identity provider.
type VerifierConfig struct {
	// Issuer is the provider's issuer identifier: the iss claim must be
	// exactly this.
	Issuer string
	// ClientID is this application's client id: the aud claim must
	// contain it (and azp, when present, be it).
	ClientID string
	// JWKS is the provider's JSON Web Key Set (its jwks_uri document):
	// the public keys it signs ID tokens and logout tokens with.
	JWKS jose.JSONWebKeySet
	// Algorithms are the signature algorithms accepted; empty means RS256,
	// PS256, ES256 and EdDSA. Symmetric algorithms (HS256...) are refused:
	// the keys are public.
	Algorithms []jose.SignatureAlgorithm
	// Leeway is the clock skew allowed between the provider and this
	// server (default one minute).
	Leeway time.Duration
	// MaxAge is how long after its iat a token is accepted (default two
	// minutes); a token's exp, when it has one, can only shorten it. The
	// jti of an accepted token is remembered that long, plus Leeway.
	MaxAge time.Duration
	// MaxReplay bounds the number of remembered jti values (default
	// 100,000); when full, a new token is refused until some expire.
	MaxReplay int
}

// Verifier validates logout tokens; it is safe for concurrent use.
type Verifier struct {
	cfg    VerifierConfig
	replay replayCache
}

// LogoutClaims are the claims of a verified logout token that say what to
// log out: the provider's session (SID), or every session of the user
// (Sub) when SID is empty.
type LogoutClaims struct {
	Issuer string
	SID    string
	Sub    string
	// JTI and until identify the token in the replay cache.
	JTI   string
	until time.Time
}

// NewVerifier checks cfg and returns its Verifier.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("verifier: no issuer")
	case cfg.ClientID == "":
		return nil, errors.New("verifier: no client id")
	case len(cfg.JWKS.Keys) == 0:
		return nil, errors.New("verifier: no key in the JWKS")
	case cfg.Leeway < 0 || cfg.MaxAge < 0 || cfg.MaxReplay < 0:
		return nil, errors.New("verifier: negative leeway, max age or replay bound")
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}
	}
	for _, alg := range cfg.Algorithms {
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
			jose.ES256, jose.ES384, jose.ES512, jose.EdDSA:
		default:
			return nil, fmt.Errorf("verifier: algorithm %q not allowed (asymmetric signatures only)", alg)
		}
	}
	keys := make([]jose.JSONWebKey, 0, len(cfg.JWKS.Keys))
	for _, k := range cfg.JWKS.Keys {
		if !k.Valid() {
			return nil, fmt.Errorf("verifier: JWKS key %q is not valid", k.KeyID)
		}
		if k.Use != "" && k.Use != "sig" {
			continue // an encryption key
		}
		keys = append(keys, k.Public()) // never keep private material
	}
	if len(keys) == 0 {
		return nil, errors.New("verifier: no signing key in the JWKS")
	}
	cfg.JWKS = jose.JSONWebKeySet{Keys: keys}
	if cfg.Leeway == 0 {
		cfg.Leeway = time.Minute
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 2 * time.Minute
	}
	if cfg.MaxReplay == 0 {
		cfg.MaxReplay = 100_000
	}
	return &Verifier{cfg: cfg, replay: replayCache{max: cfg.MaxReplay, seen: map[string]time.Time{}}}, nil
}

// logoutPayload holds the claims of a logout token beyond the registered
// ones.
type logoutPayload struct {
	SID    *string        `json:"sid"`
	AZP    *string        `json:"azp"`
	Events map[string]any `json:"events"`
}

// Verify validates token at now and returns its claims. The token's jti is
// reserved: call Done with the outcome of the logout, so that a token
// whose logout failed can be sent again. Every error wraps
// errInvalidToken.
func (v *Verifier) Verify(token string, now time.Time) (*LogoutClaims, error) {
	if len(token) > 16<<10 {
		return nil, invalid("longer than 16 KiB")
	}
	// A JWE has five parts: encrypted logout tokens are not configured here.
	if strings.Count(token, ".") != 2 {
		return nil, invalid("not a signed JWT (JWS compact serialization)")
	}
	tok, err := jwt.ParseSigned(token, v.cfg.Algorithms)
	if err != nil {
		return nil, invalid("%v", err) // malformed, or alg not allowed ("none" never is)
	}
	if len(tok.Headers) != 1 {
		return nil, invalid("want one signature")
	}
	h := tok.Headers[0]
	// Cross-JWT confusion: a logout token may be typed logout+jwt (as the
	// specification recommends) or JWT, or not typed; never as another
	// kind of token.
	if typ, ok := h.ExtraHeaders[jose.HeaderType]; ok {
		s, _ := typ.(string)
		switch strings.ToLower(strings.TrimPrefix(strings.ToLower(s), "application/")) {
		case "logout+jwt", "jwt":
		default:
			return nil, invalid("typ %q is not a logout token's", typ)
		}
	}
	key, err := v.key(h)
	if err != nil {
		return nil, err
	}
	var std jwt.Claims
	var ext logoutPayload
	var all map[string]any
	if err := tok.Claims(key.Key, &std, &ext, &all); err != nil {
		return nil, invalid("%v", err) // the signature, or claims of the wrong type
	}

	leeway := v.cfg.Leeway
	switch {
	case std.Issuer != v.cfg.Issuer:
		return nil, invalid("iss %q is not the configured issuer", std.Issuer)
	case !std.Audience.Contains(v.cfg.ClientID):
		return nil, invalid("aud %q does not contain this client", []string(std.Audience))
	case ext.AZP != nil && *ext.AZP != v.cfg.ClientID:
		return nil, invalid("azp %q is another client", *ext.AZP)
	case std.IssuedAt == nil:
		return nil, invalid("no iat")
	case std.IssuedAt.Time().After(now.Add(leeway)):
		return nil, invalid("iat in the future")
	case std.IssuedAt.Time().Add(v.cfg.MaxAge).Before(now.Add(-leeway)):
		return nil, invalid("iat older than %v", v.cfg.MaxAge)
	case std.Expiry != nil && std.Expiry.Time().Before(now.Add(-leeway)):
		return nil, invalid("expired")
	case std.NotBefore != nil && std.NotBefore.Time().After(now.Add(leeway)):
		return nil, invalid("not valid yet (nbf)")
	case std.ID == "":
		return nil, invalid("no jti")
	}
	if _, ok := all["nonce"]; ok {
		return nil, invalid("a nonce: logout tokens must not carry one")
	}
	event, ok := ext.Events[backchannelLogoutEvent]
	if _, isObject := event.(map[string]any); !ok || !isObject {
		return nil, invalid("no back-channel logout event (events claim with member %q, a JSON object)", backchannelLogoutEvent)
	}
	c := &LogoutClaims{Issuer: std.Issuer, Sub: std.Subject, JTI: std.ID}
	if ext.SID != nil {
		c.SID = *ext.SID
	}
	if c.SID == "" && c.Sub == "" {
		return nil, invalid("neither sid nor sub")
	}
	// The token is accepted until iat + MaxAge (or exp, when sooner), plus
	// the leeway: its jti is remembered that long.
	c.until = std.IssuedAt.Time().Add(v.cfg.MaxAge)
	if std.Expiry != nil && std.Expiry.Time().Before(c.until) {
		c.until = std.Expiry.Time()
	}
	c.until = c.until.Add(leeway)
	if err := v.replay.reserve(c.Issuer+"\x00"+c.JTI, c.until, now); err != nil {
		return nil, err
	}
	return c, nil
}

// Done ends the reservation of c's jti: a token whose logout succeeded
// stays remembered (a replay is refused), one whose logout failed is
// forgotten, so that the provider can send it again.
func (v *Verifier) Done(c *LogoutClaims, succeeded bool) {
	if !succeeded {
		v.replay.release(c.Issuer + "\x00" + c.JTI)
	}
}

// key returns the JWKS key that h names: by kid, or the only signing key
// when the token has no kid. A key that states its algorithm must state
// the token's.
func (v *Verifier) key(h jose.Header) (jose.JSONWebKey, error) {
	var candidates []jose.JSONWebKey
	if h.KeyID != "" {
		candidates = v.cfg.JWKS.Key(h.KeyID)
	} else if len(v.cfg.JWKS.Keys) == 1 {
		candidates = v.cfg.JWKS.Keys
	}
	candidates = slices.DeleteFunc(slices.Clone(candidates), func(k jose.JSONWebKey) bool {
		return k.Algorithm != "" && k.Algorithm != h.Algorithm
	})
	if len(candidates) != 1 {
		return jose.JSONWebKey{}, invalid("no single key of the JWKS for kid %q and alg %s", h.KeyID, h.Algorithm)
	}
	return candidates[0], nil
}

// replayCache remembers the jti of accepted tokens until they expire.
type replayCache struct {
	max  int
	mu   sync.Mutex
	seen map[string]time.Time
}

// reserve records id until until, or fails if it is already recorded (a
// replay) or the cache is full of live entries.
func (c *replayCache) reserve(id string, until, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[id]; ok && exp.After(now) {
		return invalid("jti already used (a replay)")
	}
	if len(c.seen) >= c.max {
		for k, exp := range c.seen {
			if !exp.After(now) {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= c.max {
			return invalid("too many logout tokens in flight; try again later")
		}
	}
	c.seen[id] = until
	return nil
}

func (c *replayCache) release(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, id)
}

// parseJWKS reads a JSON Web Key Set.
func parseJWKS(raw []byte) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return set, fmt.Errorf("jwks: %w", err)
	}
	return set, nil
}
