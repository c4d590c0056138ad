package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

const keygenDescription = `Prints a fresh random 32-byte key from the operating system's random
source, in hex and base64, and how to use it: as the initial keying
material (ikm, used as is) or as a secret (hashed with SHA-256 into the
ikm). Keep it out of shell history and version control.
`

func runKeygen(e *env, args []string) error {
	fs := newFlagSet(e, "keygen", "keygen [--json]", keygenDescription)
	asJSON := fs.Bool("json", false, "print {hex, base64, base64url} as JSON")
	positional, err := parseFlags(e, fs, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return usagef("keygen takes no arguments")
	}
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return fmt.Errorf("random source: %w", err)
	}
	h := hex.EncodeToString(key[:])
	std := base64.StdEncoding.EncodeToString(key[:])
	url := base64.RawURLEncoding.EncodeToString(key[:])
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]string{"hex": h, "base64": std, "base64url": url})
	}
	fmt.Fprintf(e.stdout, `hex:       %s
base64:    %s
base64url: %s

As the initial keying material (ikm, exactly these 32 bytes):
  sessionctl:        --ikm-hex %s
  JSON config:       "ikm_hex": "%s"
  sessiongo (Go):    session.Config{IKM: key}  // key, _ := hex.DecodeString("%s")
  lua-resty-session: ikm = ngx.decode_base64("%s")

As a secret (any string; hashed with SHA-256 into the ikm):
  sessionctl:        --secret %s
  JSON config:       "secret": "%s"
  sessiongo (Go):    session.Config{Secret: "%s"}
  lua-resty-session: secret = "%s"

When rotating keys, move the old one to --ikm-fallback-hex / --secret-fallback
("ikm_fallbacks" / "secret_fallbacks") until the old cookies have expired.
`, h, std, url, h, h, h, std, url, url, url, url)
	return nil
}
