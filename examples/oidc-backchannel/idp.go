package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fakeIdP stands in for the identity provider when the demo runs without
// a configuration: it "signs in" anyone (a real application gets sub and
// sid from a verified ID token instead), and signs the logout tokens that
// a real provider would send when the user signs out there. Its key is
// made at start-up and lives in memory.
type fakeIdP struct {
	issuer   string
	clientID string
	key      crypto.Signer
	kid      string
}

func newFakeIdP(issuer, clientID string) (*fakeIdP, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &fakeIdP{issuer: issuer, clientID: clientID, key: key, kid: "demo-" + rand.Text()[:8]}, nil
}

// jwks returns the provider's public keys, as its jwks_uri would.
func (p *fakeIdP) jwks() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: p.key.Public(), KeyID: p.kid, Algorithm: string(jose.ES256), Use: "sig",
	}}}
}

// signIn is the provider's side of a sign-in: a new provider session id
// for the browser, and the user's subject.
func (p *fakeIdP) signIn(user string) (sub, sid string) {
	return user, rand.Text()
}

// logoutToken signs the logout token of a provider session (sid, with
// sub) or, with sid empty, of every session of sub.
func (p *fakeIdP) logoutToken(sub, sid string, now time.Time) (string, error) {
	claims := map[string]any{
		"iss":    p.issuer,
		"aud":    p.clientID,
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    rand.Text(),
		"sub":    sub,
		"events": map[string]any{backchannelLogoutEvent: map[string]any{}},
	}
	if sid != "" {
		claims["sid"] = sid
	}
	return signJWT(p.key, p.kid, jose.ES256, map[jose.HeaderKey]any{jose.HeaderType: "logout+jwt"}, claims)
}

// signJWT signs claims as a compact JWS with key, kid and alg, and extra
// protected headers.
func signJWT(key any, kid string, alg jose.SignatureAlgorithm, headers map[jose.HeaderKey]any, claims map[string]any) (string, error) {
	opts := &jose.SignerOptions{}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	for k, v := range headers {
		opts = opts.WithHeader(k, v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
