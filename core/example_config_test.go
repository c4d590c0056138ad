package session_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"

	session "github.com/sessiongo/session/core"
)

// A production configuration: the enumerations are typed constants.
func ExampleConfig() {
	m, err := session.New(session.Config{
		Secret:         "a long random secret, from your configuration",
		CookiePrefix:   session.PrefixHost, // __Host-session: Secure, Path=/, no Domain
		CookieSameSite: session.SameSiteStrict,
		Remember:       true,
		RememberSafety: session.SafetyHigh,
		Bind:           []session.Binding{session.BindScheme, session.BindUserAgent},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.CookieName(), m.RememberCookieName())
	// Output: __Host-session __Host-remember
}

func ExampleParseConfig() {
	// The session plugin of a Kong route, as Kong's Admin API returns it; a
	// plain object of lua-resty-session's options works the same.
	data := []byte(`{
		"name": "session",
		"enabled": true,
		"config": {
			"secret": "a4Xb1ZtQ9pKs2Lm7Rv0Wy3Nc",
			"audience": "shop",
			"idling_timeout": 1800,
			"rolling_timeout": 0,
			"cookie_secure": false,
			"bind": ["ip", "user-agent"],
			"storage": "cookie",
			"logout_methods": ["POST", "DELETE"]
		}
	}`)
	cfg, err := session.ParseConfig(data)
	if err != nil {
		log.Fatal(err)
	}
	// What JSON cannot hold is set in Go: Store, Logger, Clock.
	cfg.Logger = slog.New(slog.DiscardHandler)
	if _, err := session.New(cfg); err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Audience, cfg.IdlingTimeout, cfg.RollingTimeout == session.Disabled, cfg.DisableSecure, cfg.Bind)

	// A misspelt option is an error, not a silent default.
	_, err = session.ParseConfig([]byte(`{"secret": "a4Xb1ZtQ9pKs2Lm7Rv0Wy3Nc", "cookie_secur": false}`))
	fmt.Println(errors.Is(err, session.ErrInvalidConfig), err)
	// Output:
	// shop 30m0s true true [ip user-agent]
	// true invalid session configuration (cookie_secur: unknown option)
}

func ExampleParseConfigFunc() {
	// An application keeps a setting of its own beside the session options.
	data := []byte(`{"secret": "a4Xb1ZtQ9pKs2Lm7Rv0Wy3Nc", "remember": true, "redis_url": "redis://10.0.0.5:6379"}`)
	var redisURL string
	cfg, err := session.ParseConfigFunc(data, func(key string, value json.RawMessage) error {
		if key == "redis_url" {
			return json.Unmarshal(value, &redisURL)
		}
		return errors.New("unknown option")
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Remember, redisURL)
	// Output: true redis://10.0.0.5:6379
}
