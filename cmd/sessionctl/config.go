package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	session "github.com/sessiongo/session/core"
)

// The session configuration comes from a JSON file in lua-resty-session's
// option names (--config), read by core's session.ParseConfigFunc, and from
// flags named after the same options (idling_timeout -> --idling-timeout); a
// flag wins over the file. As in the reference, timeouts are in seconds and
// 0 turns them off. The file's storage sections and its store URL stay
// here: they make the store, which core leaves to its caller.

// kind is the type of a flag's value.
type kind int

const (
	kindString  kind = iota
	kindBool         // a boolean flag
	kindSeconds      // seconds or a Go duration ("15m"); 0 = off
	kindInt          // an integer
	kindList         // a repeatable flag
	kindNames        // like kindList, and a value may list several, comma-separated
)

// value is a flag's value: string, bool, int64 or []string by kind.
type value any

// option is one configuration flag, named after the reference's option.
type option struct {
	flag  string
	kind  kind
	usage string
	set   func(st *settings, v value) error
}

// settings is the configuration of one command run.
type settings struct {
	cfg   session.Config
	store string // a store URL (--store, or built from "storage" and its section)

	// From the file: the storage name ("cookie", "redis"...), and the
	// revocation backend of cookie storage ("revocation": "redis") with its
	// section, which revoke makes a store URL of.
	storage           string
	revocation        string
	revocationSection map[string]any
}

func secondsValue(v value) time.Duration {
	n := v.(int64)
	if n == 0 {
		return session.Disabled
	}
	return time.Duration(n) * time.Second
}

func unhex(what, s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%s: not hex: %w", what, err)
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("%s: %d bytes, want 32 (64 hex digits)", what, len(b))
	}
	return b, nil
}

func rawKey(what, s string) ([]byte, error) {
	if len(s) != 32 {
		return nil, fmt.Errorf("%s: %d bytes, want exactly 32 (or give 64 hex digits to --ikm-hex)", what, len(s))
	}
	return []byte(s), nil
}

// options are the configuration flags; they are applied in this order, so
// that --ikm-hex wins over --ikm.
var options = []option{
	{"secret", kindString, "secret hashed (SHA-256) into the key", func(st *settings, v value) error {
		st.cfg.Secret = v.(string)
		return nil
	}},
	{"secret-fallback", kindList, "older `secret` that still opens cookies (repeatable)", func(st *settings, v value) error {
		st.cfg.SecretFallbacks = v.([]string)
		return nil
	}},
	{"ikm", kindString, "initial keying material: exactly 32 raw bytes (wins over --secret)", func(st *settings, v value) error {
		b, err := rawKey("ikm", v.(string))
		st.cfg.IKM = b
		return err
	}},
	{"ikm-hex", kindString, "initial keying material as 64 hex digits (see sessionctl keygen)", func(st *settings, v value) error {
		b, err := unhex("ikm_hex", v.(string))
		st.cfg.IKM = b
		return err
	}},
	{"ikm-fallback-hex", kindList, "older ikm as 64 hex digits (repeatable)", func(st *settings, v value) error {
		st.cfg.IKMFallbacks = nil
		for i, s := range v.([]string) {
			b, err := unhex(fmt.Sprintf("ikm_fallbacks_hex[%d]", i), s)
			if err != nil {
				return err
			}
			st.cfg.IKMFallbacks = append(st.cfg.IKMFallbacks, b)
		}
		return nil
	}},
	{"audience", kindString, "audience (default \"default\")", func(st *settings, v value) error {
		st.cfg.Audience = v.(string)
		return nil
	}},
	{"subject", kindString, "subject: of new sessions (new), to list or revoke (sessions)", func(st *settings, v value) error {
		st.cfg.Subject = v.(string)
		return nil
	}},
	{"enforce-same-subject", kindBool, "drop other audiences' entries of another subject on save", func(st *settings, v value) error {
		st.cfg.EnforceSameSubject = v.(bool)
		return nil
	}},
	{"remember", kindBool, "persistent sessions: the remember cookie", func(st *settings, v value) error {
		st.cfg.Remember = v.(bool)
		return nil
	}},
	{"remember-safety", kindString, "remember cookie key derivation: None, Low, Medium (default), High, Very High", func(st *settings, v value) error {
		st.cfg.RememberSafety = session.RememberSafety(v.(string))
		return nil
	}},
	{"remember-cookie-name", kindString, "remember cookie name (default \"remember\")", func(st *settings, v value) error {
		st.cfg.RememberCookieName = v.(string)
		return nil
	}},
	{"cookie-name", kindString, "session cookie name (default \"session\")", func(st *settings, v value) error {
		st.cfg.CookieName = v.(string)
		return nil
	}},
	{"cookie-prefix", kindString, "cookie name prefix: __Host- or __Secure-", func(st *settings, v value) error {
		st.cfg.CookiePrefix = session.Prefix(v.(string))
		return nil
	}},
	{"cookie-path", kindString, "cookie Path (default /)", func(st *settings, v value) error {
		st.cfg.CookiePath = v.(string)
		return nil
	}},
	{"cookie-domain", kindString, "cookie Domain", func(st *settings, v value) error {
		st.cfg.CookieDomain = v.(string)
		return nil
	}},
	{"cookie-http-only", kindBool, "HttpOnly cookies (default true)", func(st *settings, v value) error {
		st.cfg.DisableHTTPOnly = !v.(bool)
		return nil
	}},
	// Unlike the reference, whose cookie_secure defaults to false, cookies
	// are Secure unless cookie_secure is explicitly false (core's
	// DisableSecure): an absent option keeps core's default.
	{"cookie-secure", kindBool, "Secure cookies (default true, unlike the reference: give false for plain HTTP)", func(st *settings, v value) error {
		st.cfg.DisableSecure = !v.(bool)
		return nil
	}},
	{"cookie-priority", kindString, "cookie Priority: Low, Medium or High", func(st *settings, v value) error {
		st.cfg.CookiePriority = session.Priority(v.(string))
		return nil
	}},
	{"cookie-same-site", kindString, "cookie SameSite: Lax (default), Strict, None or Default", func(st *settings, v value) error {
		st.cfg.CookieSameSite = session.SameSite(v.(string))
		return nil
	}},
	{"cookie-same-party", kindBool, "SameParty cookies", func(st *settings, v value) error {
		st.cfg.CookieSameParty = v.(bool)
		return nil
	}},
	{"cookie-partitioned", kindBool, "Partitioned cookies", func(st *settings, v value) error {
		st.cfg.CookiePartitioned = v.(bool)
		return nil
	}},
	{"stale-ttl", kindSeconds, "how long a replaced store record stays readable (default 10s)", func(st *settings, v value) error {
		st.cfg.StaleTTL = secondsValue(v)
		return nil
	}},
	{"idling-timeout", kindSeconds, "idling timeout, seconds or a duration; 0 = off (default 15m)", func(st *settings, v value) error {
		st.cfg.IdlingTimeout = secondsValue(v)
		return nil
	}},
	{"rolling-timeout", kindSeconds, "rolling timeout; 0 = off (default 1h)", func(st *settings, v value) error {
		st.cfg.RollingTimeout = secondsValue(v)
		return nil
	}},
	{"absolute-timeout", kindSeconds, "absolute timeout; 0 = off (default 24h)", func(st *settings, v value) error {
		st.cfg.AbsoluteTimeout = secondsValue(v)
		return nil
	}},
	{"remember-rolling-timeout", kindSeconds, "remember rolling timeout; 0 = off (default 168h)", func(st *settings, v value) error {
		st.cfg.RememberRollingTimeout = secondsValue(v)
		return nil
	}},
	{"remember-absolute-timeout", kindSeconds, "remember absolute timeout; 0 = off (default 720h)", func(st *settings, v value) error {
		st.cfg.RememberAbsoluteTimeout = secondsValue(v)
		return nil
	}},
	{"touch-threshold", kindSeconds, "idle time before a refresh touches the cookie (default 1m)", func(st *settings, v value) error {
		st.cfg.TouchThreshold = secondsValue(v)
		return nil
	}},
	{"compression-threshold", kindInt, "data size in bytes above which it is deflated; 0 = never (default 1024)", func(st *settings, v value) error {
		n := v.(int64)
		if n < 0 || n > math.MaxInt32 {
			return fmt.Errorf("compression_threshold: %d out of range", n)
		}
		st.cfg.CompressionThreshold = int(n)
		if n == 0 {
			st.cfg.CompressionThreshold = -1
		}
		return nil
	}},
	{"hash-storage-key", kindBool, "store records under SHA-256 of the session id", func(st *settings, v value) error {
		st.cfg.HashStorageKey = v.(bool)
		return nil
	}},
	{"hash-subject", kindBool, "hash subjects in the subject index", func(st *settings, v value) error {
		st.cfg.HashSubject = v.(bool)
		return nil
	}},
	{"store-metadata", kindBool, "keep the subject index in the store (needed by sessions list|revoke)", func(st *settings, v value) error {
		st.cfg.StoreMetadata = v.(bool)
		return nil
	}},
	{"bind", kindNames, "bind to request properties: ip, scheme, user-agent (repeatable or comma-separated)", func(st *settings, v value) error {
		st.cfg.Bind = nil
		for _, b := range v.([]string) {
			st.cfg.Bind = append(st.cfg.Bind, session.Binding(b))
		}
		return nil
	}},
	{"store", kindString, "server-side store `URL`: redis://, rediss://, redis-sentinel://, redis-cluster://, memcached://, postgres://, mysql://, sqlite://, file://", func(st *settings, v value) error {
		st.store = v.(string)
		return nil
	}},
}

// storageSections are the file's per-storage sections, by storage name.
var storageSections = map[string][]string{
	"redis":      {"redis"},
	"memcached":  {"memcached", "memcache"},
	"memcache":   {"memcached", "memcache"},
	"postgres":   {"postgres", "postgresql"},
	"postgresql": {"postgres", "postgresql"},
	"mysql":      {"mysql", "mariadb"},
	"mariadb":    {"mysql", "mariadb"},
	"file":       {"file"},
}

// knownIgnored are options of the reference (and of Kong's session plugin)
// that do not matter to sessionctl; they are skipped without a warning.
var knownIgnored = map[string]bool{
	"shm": true, "dshm": true,
	"logout_methods": true, "logout_query_arg": true, "logout_post_arg": true,
	"read_body_for_logout": true,
}

// flagValue is the flag.Value of an option: it records what was given.
type flagValue struct {
	opt  *option
	set  bool
	str  string
	b    bool
	n    int64
	list []string
}

func (f *flagValue) String() string {
	if f == nil || f.opt == nil {
		return ""
	}
	switch f.opt.kind {
	case kindBool:
		if !f.set {
			return ""
		}
		return strconv.FormatBool(f.b)
	case kindSeconds, kindInt:
		if !f.set {
			return ""
		}
		return strconv.FormatInt(f.n, 10)
	case kindList, kindNames:
		return strings.Join(f.list, ",")
	}
	return f.str
}

func (f *flagValue) IsBoolFlag() bool { return f.opt.kind == kindBool }

func (f *flagValue) Set(s string) error {
	switch f.opt.kind {
	case kindString:
		f.str = s
	case kindBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("want true or false")
		}
		f.b = b
	case kindSeconds:
		n, err := parseSeconds(s)
		if err != nil {
			return err
		}
		f.n = n
	case kindInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errors.New("want an integer")
		}
		f.n = n
	case kindList:
		f.list = append(f.list, s)
	case kindNames:
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				f.list = append(f.list, p)
			}
		}
	}
	f.set = true
	return nil
}

func (f *flagValue) value() value {
	switch f.opt.kind {
	case kindBool:
		return f.b
	case kindSeconds, kindInt:
		return f.n
	case kindList, kindNames:
		return f.list
	}
	return f.str
}

// parseSeconds reads whole seconds ("900") or a Go duration ("15m").
func parseSeconds(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, errors.New("negative")
		}
		return n, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("want seconds (900) or a duration (15m); 0 turns it off")
	}
	if d < 0 {
		return 0, errors.New("negative")
	}
	return int64(d / time.Second), nil
}

// configFlags are the configuration flags of one command.
type configFlags struct {
	file   string
	values []*flagValue
}

// addConfigFlags registers --config and the option flags on fs.
func addConfigFlags(fs *flag.FlagSet) *configFlags {
	cf := &configFlags{}
	fs.StringVar(&cf.file, "config", "", "JSON `file` with the session configuration in lua-resty-session's option names")
	for i := range options {
		o := &options[i]
		v := &flagValue{opt: o}
		cf.values = append(cf.values, v)
		fs.Var(v, o.flag, o.usage)
	}
	return cf
}

// settings reads the file, then applies the flags that were given.
func (cf *configFlags) settings(e *env) (*settings, error) {
	st := &settings{}
	if cf.file != "" {
		raw, err := os.ReadFile(cf.file)
		if err != nil {
			return nil, usagef("--config: %v", err)
		}
		if err := st.applyFile(e, raw); err != nil {
			return nil, usagef("--config %s: %v", cf.file, err)
		}
	}
	for _, v := range cf.values {
		if !v.set {
			continue
		}
		if err := v.opt.set(st, v.value()); err != nil {
			return nil, usagef("--%s: %v", v.opt.flag, err)
		}
	}
	if len(st.cfg.IKMFallbacks) > 0 && len(st.cfg.SecretFallbacks) > 0 {
		// Core ignores them too (as the reference does); say so here, where
		// a flag and a file can meet, rather than in a discarded log.
		fmt.Fprintln(e.stderr, "sessionctl: warning: ignoring the secret fallbacks: ikm fallbacks are set, and then lua-resty-session uses only those")
		st.cfg.SecretFallbacks = nil
	}
	return st, nil
}

// applyFile applies a JSON configuration: an object of the reference's
// options, or a Kong plugin entity whose "config" holds them. Core reads the
// session options; the keys it hands back are the store's ("store",
// "storage" and its section), options that do not matter here, and unknown
// keys, which produce a warning.
func (st *settings) applyFile(e *env, raw []byte) error {
	var (
		unknown  []string
		storage  string
		sections = map[string]map[string]any{}
	)
	cfg, err := session.ParseConfigFunc(raw, func(key string, v json.RawMessage) error {
		if string(v) == "null" {
			return nil // the default, as nil in Lua
		}
		_, section := storageSectionKey(key)
		switch {
		case key == "store" || key == "storage" || key == "revocation":
			var s string
			if json.Unmarshal(v, &s) != nil {
				return errors.New("want a string")
			}
			switch key {
			case "store":
				st.store = s
			case "storage":
				storage = s
			default:
				st.revocation = s
			}
		case section:
			d := json.NewDecoder(bytes.NewReader(v))
			d.UseNumber()
			var m map[string]any
			if d.Decode(&m) != nil {
				return errors.New("want an object")
			}
			sections[key] = m
		case !knownIgnored[key]:
			unknown = append(unknown, key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	st.cfg = cfg
	st.storage = storage
	for _, n := range storageSections[st.revocation] {
		if s, ok := sections[n]; ok {
			st.revocationSection = s
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		fmt.Fprintf(e.stderr, "sessionctl: warning: ignoring unknown configuration options: %s\n", strings.Join(unknown, ", "))
	}
	if st.store == "" && storage != "" && storage != "cookie" {
		names, known := storageSections[storage]
		if !known {
			return fmt.Errorf("storage %q cannot be reached from sessionctl (pass --store URL)", storage)
		}
		var section map[string]any
		for _, n := range names {
			if s, ok := sections[n]; ok {
				section = s
			}
		}
		u, err := storageURL(storage, section)
		if err != nil {
			return fmt.Errorf("storage %q: %w", storage, err)
		}
		st.store = u
	}
	return nil
}

func storageSectionKey(key string) (string, bool) {
	for _, names := range storageSections {
		for _, n := range names {
			if n == key {
				return n, true
			}
		}
	}
	return "", false
}

// effective returns a configured timeout in seconds as the Manager uses
// it: the default for 0, 0 (off) for a negative value.
func effective(d, def time.Duration) int64 {
	switch {
	case d == 0:
		return int64(def / time.Second)
	case d < 0:
		return 0
	}
	return int64(d / time.Second)
}
