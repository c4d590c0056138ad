// Command oidc-backchannel is a relying party of OpenID Connect
// Back-Channel Logout 1.0 on net/http and sessiongo's cookie sessions:
// sign-ins carry the provider's session (sid) and user (sub) as revocation
// keys, and POST /backchannel-logout validates the provider's logout token
// and revokes them, so that the user's browsers are signed out on their
// next request, without any server-side session store.
//
//	go run ./examples/oidc-backchannel
//
// runs it with a simulated identity provider on http://127.0.0.1:8080.
// With -config provider.json it trusts a real provider instead:
//
//	{
//	  "issuer": "https://idp.example.com",
//	  "client_id": "my-app",
//	  "jwks": {"keys": [...]},       // the provider's jwks_uri document
//	  "algorithms": ["RS256"],       // optional: RS256, PS256, ES256, EdDSA
//	  "leeway": 60,                  // optional: clock skew, seconds
//	  "max_age": 120                 // optional: how old a token may be, seconds
//	}
//
// Revocation marks live in memory (one process), or with -revocation-dir
// in a file store shared by the processes of one host; use a Redis,
// memcached or SQL store from the stores/ modules for several hosts.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// providerConfig is the -config file: the identity provider the
// application trusts.
type providerConfig struct {
	Issuer     string          `json:"issuer"`
	ClientID   string          `json:"client_id"`
	JWKS       json.RawMessage `json:"jwks"`
	Algorithms []string        `json:"algorithms"`
	Leeway     int64           `json:"leeway"`
	MaxAge     int64           `json:"max_age"`
}

// verifierConfig reads a provider configuration.
func verifierConfig(raw []byte) (VerifierConfig, error) {
	var pc providerConfig
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&pc); err != nil {
		return VerifierConfig{}, fmt.Errorf("provider config: %w", err)
	}
	if len(pc.JWKS) == 0 {
		return VerifierConfig{}, errors.New("provider config: no jwks")
	}
	jwks, err := parseJWKS(pc.JWKS)
	if err != nil {
		return VerifierConfig{}, fmt.Errorf("provider config: %w", err)
	}
	cfg := VerifierConfig{
		Issuer: pc.Issuer, ClientID: pc.ClientID, JWKS: jwks,
		Leeway: time.Duration(pc.Leeway) * time.Second, MaxAge: time.Duration(pc.MaxAge) * time.Second,
	}
	for _, a := range pc.Algorithms {
		cfg.Algorithms = append(cfg.Algorithms, jose.SignatureAlgorithm(a))
	}
	return cfg, nil
}

// newApp builds the application: its session Manager on revocation
// backend rev, its verifier, and the demo's provider when vc is nil.
func newApp(secret, addr string, vc *VerifierConfig, rev store.Revoker, clock func() time.Time, logger *slog.Logger) (*app, error) {
	a := &app{clock: clock, log: logger, backchannelURL: "http://" + addr + "/backchannel-logout"}
	if vc == nil {
		idp, err := newFakeIdP("http://"+addr+"/idp", "demo-app")
		if err != nil {
			return nil, err
		}
		a.idp = idp
		vc = &VerifierConfig{Issuer: idp.issuer, ClientID: idp.clientID, JWKS: idp.jwks()}
	}
	v, err := NewVerifier(*vc)
	if err != nil {
		return nil, err
	}
	a.verifier, a.issuer = v, vc.Issuer
	a.m, err = session.New(session.Config{
		Secret:     secret,
		Revocation: rev,
		// Sessions time out on their own too: a logout token the
		// provider never sends (it was down) matters for a day at most.
		AbsoluteTimeout: 24 * time.Hour,
		DisableSecure:   loopback(addr), // plain HTTP on loopback only
		Clock:           clock,
		Logger:          logger,
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	configFile := flag.String("config", "", "the identity provider's configuration (JSON); none: a simulated provider")
	revocationDir := flag.String("revocation-dir", "", "keep revocation marks in this directory (a file store) instead of in memory")
	flag.Parse()
	logger := slog.Default()

	var vc *VerifierConfig
	if *configFile != "" {
		raw, err := os.ReadFile(*configFile)
		if err != nil {
			log.Fatal(err)
		}
		cfg, err := verifierConfig(raw)
		if err != nil {
			log.Fatal(err)
		}
		vc = &cfg
	}
	var rev store.Revoker
	if *revocationDir != "" {
		fs, err := session.NewFileStore(*revocationDir)
		if err != nil {
			log.Fatal(err)
		}
		defer fs.Stop()
		rev = fs
	} else {
		ms, err := session.NewMemoryStore()
		if err != nil {
			log.Fatal(err)
		}
		defer ms.Stop()
		rev = ms
	}
	a, err := newApp(os.Getenv("SESSION_SECRET"), *addr, vc, rev, time.Now, logger)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("relying party on http://%s, back-channel logout at %s", *addr, a.backchannelURL)
	srv := &http.Server{Addr: *addr, Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// loopback reports whether addr ("host:port") is a loopback address.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
