package session

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// ParseConfig reads a configuration written in the reference library's
// option names, so that the session configuration of an OpenResty or Kong
// deployment works as is. data is a JSON object of options,
//
//	{"secret": "...", "audience": "shop", "idling_timeout": 1800, "bind": ["ip"]}
//
// or a Kong plugin entity, {"name": "session", "config": {...}}, as Kong's
// Admin API returns it: the options are its config. Its other members (id,
// enabled, route...) are not read, but a name other than "session", or an
// option outside config, is an error.
//
// Each field of Config but Store, Revocation, Clock, Rand, Logger and Hooks
// is an option, under the reference's name: the field's name in snake case
// (IdlingTimeout is idling_timeout, CookieSameSite is cookie_same_site), but
// for DisableHTTPOnly and DisableSecure, which are cookie_http_only and
// cookie_secure. Values have the reference's types:
//
//   - Timeouts (stale_ttl, idling_timeout, rolling_timeout,
//     absolute_timeout, remember_rolling_timeout, remember_absolute_timeout,
//     touch_threshold) are whole numbers of seconds; 0 is the reference's 0
//     and turns the timeout off (Disabled).
//   - compression_threshold is a number of bytes; 0 turns compression off.
//   - Booleans are true or false. cookie_http_only false sets
//     DisableHTTPOnly, cookie_secure false sets DisableSecure; an absent
//     cookie_secure keeps cookies Secure, unlike the reference.
//   - secret_fallbacks, bind, request_headers and response_headers are
//     arrays of strings; a single string stands for an array of one.
//   - Keys: ikm and ikm_fallbacks are strings of exactly 32 bytes (32
//     ASCII characters), as in the reference; ikm_hex and ikm_fallbacks_hex give
//     them as 64 hex digits. ikm and ikm_hex cannot both be given; the
//     fallbacks of both forms are kept, the ikm_fallbacks first. An empty
//     secret is an error, not a request for a random key: leave secret out
//     for that. As in the reference, secret_fallbacks is not used when
//     ikm_fallbacks or ikm_fallbacks_hex is given, even as an empty array:
//     the Config then has no SecretFallbacks (see Config.SecretFallbacks).
//   - revocation_fail_mode is "open" or "closed". revocation_cache_ttl and
//     revocation_cache_error_ttl (also read as revocation_error_cache_ttl)
//     are whole seconds, 0 caching nothing as in Config;
//     revocation_cache_size is a number of entries.
//   - open_cache_size (sessiongo's own) is a number of bytes, negative
//     turning the open cache off (Config.OpenCacheSize).
//   - null stands for an absent option (the default), as nil does in Lua.
//
// A key that is not an option is an error, so that a misspelt security
// setting cannot pass unnoticed, and so is a key given twice. The reference's
// and Kong's options that configure what a Config does not hold are skipped:
// storage and its sections (dshm, file, memcached or memcache, mysql or
// mariadb, postgres or postgresql, redis, shm, and the section named by a
// custom storage), revocation (the name of the revocation backend, whose
// section is skipped too), and Kong's logout_methods, logout_query_arg,
// logout_post_arg and read_body_for_logout. ParseConfig makes no Store and
// no revocation backend: set Store or Revocation, and Logger, Clock or Hooks
// if needed, on the returned Config before calling New. ParseConfigFunc hands
// the keys that are not options to a function instead.
//
// ParseConfig checks the form of each value; New checks the values
// themselves (bind and header names, remember_safety, SameSite...). Errors
// match ErrInvalidConfig and name the option.
//
// There is no reader of one environment variable per option: a list of
// secrets in one variable needs a separator that a secret may contain, and a
// prefix such as SESSION_ meets variables of other programs (SESSION_MANAGER),
// so unknown names could not be errors. Give the JSON itself, or the path of
// a file that holds it, in one variable instead:
//
//	cfg, err := session.ParseConfig([]byte(os.Getenv("SESSION_CONFIG")))
func ParseConfig(data []byte) (Config, error) {
	return ParseConfigFunc(data, nil)
}

// ParseConfigFunc is ParseConfig with every key that is not an option of
// Config handed to other, in the order of data: the storage keys and Kong's
// logout keys that ParseConfig skips, and any other key. other returns nil
// to accept the key (it may keep the value, which is valid JSON, possibly
// null), or an error to reject it; ParseConfigFunc then returns that error,
// wrapped with the key in an error that matches ErrInvalidConfig. A nil other
// is ParseConfig's rule. Use it for settings of your own kept beside the
// session options, or to read a storage section:
//
//	var storeURL string
//	cfg, err := session.ParseConfigFunc(data, func(key string, value json.RawMessage) error {
//		if key == "store_url" {
//			return json.Unmarshal(value, &storeURL)
//		}
//		return errors.New("unknown option")
//	})
func ParseConfigFunc(data []byte, other func(key string, value json.RawMessage) error) (Config, error) {
	members, err := jsonObject(data)
	if err != nil {
		return Config{}, configError("not a JSON object: %w", err)
	}
	if members, err = kongConfig(members); err != nil {
		return Config{}, err
	}
	if other == nil {
		other = skipReferenceOption(members)
	}
	var p configParser
	for _, m := range members {
		set, ok := configOptions[m.key]
		if !ok {
			if err := other(m.key, m.value); err != nil {
				return Config{}, configError("%s: %w", m.key, err)
			}
			continue
		}
		v, err := jsonValue(m.value)
		if err != nil {
			return Config{}, configError("%s: %w", m.key, err)
		}
		if v == nil {
			continue // null: the default
		}
		if err := set(&p, v); err != nil {
			return Config{}, configError("%s: %w", m.key, err)
		}
	}
	return p.config()
}

// jsonMember is one member of a JSON object.
type jsonMember struct {
	key   string
	value json.RawMessage
}

// jsonObject returns the members of the JSON object in data, in order. A
// key given twice is an error: which of the two values counts would be a
// guess.
func jsonObject(data []byte) ([]jsonMember, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	if t, err := d.Token(); err != nil {
		return nil, err
	} else if t != json.Delim('{') {
		return nil, fmt.Errorf("found %v", t)
	}
	var members []jsonMember
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string) // a key is always a string
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, fmt.Errorf("%q given twice", key)
		}
		seen[key] = true
		members = append(members, jsonMember{key, v})
	}
	if _, err := d.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the object")
	}
	return members, nil
}

// kongConfig returns the options of a Kong plugin entity (an object with a
// config member, a name the reference does not use), or members themselves.
func kongConfig(members []jsonMember) ([]jsonMember, error) {
	var config json.RawMessage
	for _, m := range members {
		if m.key == "config" {
			config = m.value
		}
	}
	if config == nil {
		return members, nil
	}
	for _, m := range members {
		if m.key == "name" {
			var name string
			if json.Unmarshal(m.value, &name) != nil || name != "session" {
				return nil, configError("name: %s is not the entity of Kong's session plugin", m.value)
			}
		}
		if _, ok := configOptions[m.key]; ok {
			return nil, configError("%s: outside the config of a Kong plugin entity", m.key)
		}
	}
	if string(config) == "null" {
		return nil, nil
	}
	inner, err := jsonObject(config)
	if err != nil {
		return nil, configError("config: not a JSON object: %w", err)
	}
	return inner, nil
}

// referenceSkipped are the keys of the reference and of Kong's session
// plugin that configure what a Config does not hold: the storage, its
// sections, Kong's logout requests, and the revocation backend.
var referenceSkipped = map[string]bool{
	"storage": true,
	"dshm":    true, "file": true, "memcached": true, "memcache": true, "mysql": true,
	"mariadb": true, "postgres": true, "postgresql": true, "redis": true, "shm": true,
	"logout_methods": true, "logout_query_arg": true, "logout_post_arg": true,
	"read_body_for_logout": true, "revocation": true,
}

// skipReferenceOption is ParseConfig's rule for the keys that are not
// options: skip those of referenceSkipped and the section of a custom
// storage (the reference reads configuration[storage]), reject the others.
func skipReferenceOption(members []jsonMember) func(string, json.RawMessage) error {
	var storage, revocation string
	for _, m := range members {
		switch m.key {
		case "storage":
			_ = json.Unmarshal(m.value, &storage) // not a string: no custom section
		case "revocation":
			_ = json.Unmarshal(m.value, &revocation)
		}
	}
	return func(key string, _ json.RawMessage) error {
		if referenceSkipped[key] || storage != "" && key == storage || revocation != "" && key == revocation {
			return nil
		}
		return errors.New("unknown option")
	}
}

// jsonValue decodes a value, keeping numbers as json.Number.
func jsonValue(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// configParser collects the options; the keys come in two forms each.
type configParser struct {
	cfg                           Config
	ikm, ikmHex                   []byte
	ikmFallbacks, ikmFallbacksHex [][]byte
	errorCacheTTLKey              string // which of the two names gave it
	ikmFallbacksGiven             bool   // either form, even empty
}

func (p *configParser) config() (Config, error) {
	cfg := p.cfg
	if p.ikm != nil && p.ikmHex != nil {
		return Config{}, configError("ikm, ikm_hex: both given; give the key once")
	}
	cfg.IKM = p.ikm
	if p.ikmHex != nil {
		cfg.IKM = p.ikmHex
	}
	cfg.IKMFallbacks = append(p.ikmFallbacks, p.ikmFallbacksHex...)
	if p.ikmFallbacksGiven {
		// The reference derives its fallback keys from secret_fallbacks
		// only when ikm_fallbacks is nil.
		cfg.SecretFallbacks = nil
	}
	return cfg, nil
}

// optionSetter applies the decoded, non-null value of one option.
type optionSetter func(p *configParser, v any) error

func stringOption(set func(*Config, string)) optionSetter {
	return func(p *configParser, v any) error {
		s, ok := v.(string)
		if !ok {
			return errors.New("want a string")
		}
		set(&p.cfg, s)
		return nil
	}
}

func boolOption(set func(*Config, bool)) optionSetter {
	return func(p *configParser, v any) error {
		b, ok := v.(bool)
		if !ok {
			return errors.New("want true or false")
		}
		set(&p.cfg, b)
		return nil
	}
}

// maxSeconds keeps a number of seconds within a time.Duration.
const maxSeconds = math.MaxInt64 / int64(time.Second)

// secondsOption reads whole seconds; 0 is the reference's "off".
func secondsOption(set func(*Config, time.Duration)) optionSetter {
	return func(p *configParser, v any) error {
		n, err := wholeNumber(v)
		switch {
		case err != nil:
			return err
		case n < 0:
			return fmt.Errorf("%d is negative (0 turns it off)", n)
		case n > maxSeconds:
			return fmt.Errorf("%d seconds is out of range", n)
		case n == 0:
			set(&p.cfg, Disabled)
		default:
			set(&p.cfg, time.Duration(n)*time.Second)
		}
		return nil
	}
}

// cacheTTLOption reads the whole seconds of a revocation cache TTL; 0 is
// "no caching", as it is in Config. An option that has two names gives its
// name, so that giving both is an error.
func cacheTTLOption(name string, set func(*Config, time.Duration)) optionSetter {
	return func(p *configParser, v any) error {
		n, err := wholeNumber(v)
		switch {
		case err != nil:
			return err
		case n < 0:
			return fmt.Errorf("%d is negative (0 turns caching off)", n)
		case n > maxSeconds:
			return fmt.Errorf("%d seconds is out of range", n)
		}
		if name != "" {
			if p.errorCacheTTLKey != "" && p.errorCacheTTLKey != name {
				return fmt.Errorf("also given as %s; give it once", p.errorCacheTTLKey)
			}
			p.errorCacheTTLKey = name
		}
		set(&p.cfg, time.Duration(n)*time.Second)
		return nil
	}
}

// convertList converts a list of option values to one of the enumerations.
func convertList[T ~string](l []string) []T {
	if l == nil {
		return nil
	}
	out := make([]T, len(l))
	for i, v := range l {
		out[i] = T(v)
	}
	return out
}

func listOption(set func(*Config, []string)) optionSetter {
	return func(p *configParser, v any) error {
		list, err := stringList(v)
		if err != nil {
			return err
		}
		set(&p.cfg, list)
		return nil
	}
}

// keyOption reads one key (list false) or a list of keys: strings of 32
// bytes, or 64 hex digits (hexForm).
func keyOption(hexForm, list bool, set func(p *configParser, keys [][]byte)) optionSetter {
	return func(p *configParser, v any) error {
		if !list {
			s, ok := v.(string)
			if !ok {
				return errors.New("want a string")
			}
			k, err := parseKey(s, hexForm)
			if err != nil {
				return err
			}
			set(p, [][]byte{k})
			return nil
		}
		ss, err := stringList(v)
		if err != nil {
			return err
		}
		keys := make([][]byte, 0, len(ss))
		for i, s := range ss {
			k, err := parseKey(s, hexForm)
			if err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
			keys = append(keys, k)
		}
		set(p, keys)
		return nil
	}
}

func parseKey(s string, hexForm bool) ([]byte, error) {
	if !hexForm {
		if len(s) != ikmSize {
			return nil, fmt.Errorf("%d bytes, want exactly %d (or give 64 hex digits in the _hex option)", len(s), ikmSize)
		}
		return []byte(s), nil
	}
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("not hex: %w", err)
	}
	if len(b) != ikmSize {
		return nil, fmt.Errorf("%d bytes, want %d (64 hex digits)", len(b), ikmSize)
	}
	return b, nil
}

// wholeNumber reads a JSON number without a fraction (1e3 is 1000).
func wholeNumber(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("want a number")
	}
	if i, err := n.Int64(); err == nil {
		return i, nil
	}
	f, err := n.Float64()
	switch {
	case err == nil && f != math.Trunc(f):
		return 0, fmt.Errorf("want a whole number, not %s", n)
	case err != nil || math.Abs(f) >= math.MaxInt64:
		return 0, fmt.Errorf("%s is out of range", n)
	}
	return int64(f), nil
}

// stringList reads an array of strings, or one string.
func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, errors.New("want an array of strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errors.New("want an array of strings")
}

// configOptions are the options of Config, by the reference's names.
var configOptions = map[string]optionSetter{
	"secret": func(p *configParser, v any) error {
		s, ok := v.(string)
		switch {
		case !ok:
			return errors.New("want a string")
		case s == "":
			// Typically an unset variable in a template. The reference would
			// hash it into a key anyone can compute; leave secret out for a
			// random key.
			return errors.New("empty; leave secret out to use a random key")
		}
		p.cfg.Secret = s
		return nil
	},
	"secret_fallbacks":  listOption(func(c *Config, l []string) { c.SecretFallbacks = l }),
	"ikm":               keyOption(false, false, func(p *configParser, k [][]byte) { p.ikm = k[0] }),
	"ikm_hex":           keyOption(true, false, func(p *configParser, k [][]byte) { p.ikmHex = k[0] }),
	"ikm_fallbacks":     keyOption(false, true, func(p *configParser, k [][]byte) { p.ikmFallbacks, p.ikmFallbacksGiven = k, true }),
	"ikm_fallbacks_hex": keyOption(true, true, func(p *configParser, k [][]byte) { p.ikmFallbacksHex, p.ikmFallbacksGiven = k, true }),

	"cookie_prefix":      stringOption(func(c *Config, s string) { c.CookiePrefix = Prefix(s) }),
	"cookie_name":        stringOption(func(c *Config, s string) { c.CookieName = s }),
	"cookie_path":        stringOption(func(c *Config, s string) { c.CookiePath = s }),
	"cookie_domain":      stringOption(func(c *Config, s string) { c.CookieDomain = s }),
	"cookie_http_only":   boolOption(func(c *Config, b bool) { c.DisableHTTPOnly = !b }),
	"cookie_secure":      boolOption(func(c *Config, b bool) { c.DisableSecure = !b }),
	"cookie_priority":    stringOption(func(c *Config, s string) { c.CookiePriority = Priority(s) }),
	"cookie_same_site":   stringOption(func(c *Config, s string) { c.CookieSameSite = SameSite(s) }),
	"cookie_same_party":  boolOption(func(c *Config, b bool) { c.CookieSameParty = b }),
	"cookie_partitioned": boolOption(func(c *Config, b bool) { c.CookiePartitioned = b }),

	"remember":             boolOption(func(c *Config, b bool) { c.Remember = b }),
	"remember_safety":      stringOption(func(c *Config, s string) { c.RememberSafety = RememberSafety(s) }),
	"remember_cookie_name": stringOption(func(c *Config, s string) { c.RememberCookieName = s }),

	"audience":             stringOption(func(c *Config, s string) { c.Audience = s }),
	"subject":              stringOption(func(c *Config, s string) { c.Subject = s }),
	"enforce_same_subject": boolOption(func(c *Config, b bool) { c.EnforceSameSubject = b }),

	"stale_ttl":                 secondsOption(func(c *Config, d time.Duration) { c.StaleTTL = d }),
	"idling_timeout":            secondsOption(func(c *Config, d time.Duration) { c.IdlingTimeout = d }),
	"rolling_timeout":           secondsOption(func(c *Config, d time.Duration) { c.RollingTimeout = d }),
	"absolute_timeout":          secondsOption(func(c *Config, d time.Duration) { c.AbsoluteTimeout = d }),
	"remember_rolling_timeout":  secondsOption(func(c *Config, d time.Duration) { c.RememberRollingTimeout = d }),
	"remember_absolute_timeout": secondsOption(func(c *Config, d time.Duration) { c.RememberAbsoluteTimeout = d }),
	"touch_threshold":           secondsOption(func(c *Config, d time.Duration) { c.TouchThreshold = d }),

	"hash_storage_key": boolOption(func(c *Config, b bool) { c.HashStorageKey = b }),
	"hash_subject":     boolOption(func(c *Config, b bool) { c.HashSubject = b }),
	"store_metadata":   boolOption(func(c *Config, b bool) { c.StoreMetadata = b }),
	"max_sessions_per_subject": func(p *configParser, v any) error {
		n, err := wholeNumber(v)
		switch {
		case err != nil:
			return err
		case n < 0 || n > math.MaxInt32:
			return fmt.Errorf("%d is out of range (0 turns the cap off)", n)
		}
		p.cfg.MaxSessionsPerSubject = int(n)
		return nil
	},
	"refuse_over_limit": boolOption(func(c *Config, b bool) { c.RefuseOverLimit = b }),
	"compression_threshold": func(p *configParser, v any) error {
		n, err := wholeNumber(v)
		switch {
		case err != nil:
			return err
		case n < 0:
			return fmt.Errorf("%d is negative (0 turns compression off)", n)
		case n > math.MaxInt32:
			return fmt.Errorf("%d bytes is out of range", n)
		case n == 0:
			p.cfg.CompressionThreshold = -1
		default:
			p.cfg.CompressionThreshold = int(n)
		}
		return nil
	},

	"revocation_fail_mode": stringOption(func(c *Config, s string) { c.RevocationFailMode = FailMode(s) }),
	"revocation_cache_ttl": cacheTTLOption("", func(c *Config, d time.Duration) { c.RevocationCacheTTL = d }),
	// The error TTL under the name of its field and under the reference's
	// proposed name (lua-resty-session's revocation cache pull request).
	"revocation_cache_error_ttl": cacheTTLOption("revocation_cache_error_ttl", func(c *Config, d time.Duration) { c.RevocationCacheErrorTTL = d }),
	"revocation_error_cache_ttl": cacheTTLOption("revocation_error_cache_ttl", func(c *Config, d time.Duration) { c.RevocationCacheErrorTTL = d }),
	"revocation_cache_size": func(p *configParser, v any) error {
		n, err := wholeNumber(v)
		switch {
		case err != nil:
			return err
		case n < 0:
			return fmt.Errorf("%d is negative (0 is the default size)", n)
		case n > math.MaxInt32:
			return fmt.Errorf("%d entries is out of range", n)
		}
		p.cfg.RevocationCacheSize = int(n)
		return nil
	},
	"open_cache_size": func(p *configParser, v any) error {
		n, err := wholeNumber(v)
		switch {
		case err != nil:
			return err
		case n > math.MaxInt32 || n < math.MinInt32:
			return fmt.Errorf("%d bytes is out of range", n)
		}
		p.cfg.OpenCacheSize = int(n)
		return nil
	},

	"bind":             listOption(func(c *Config, l []string) { c.Bind = convertList[Binding](l) }),
	"request_headers":  listOption(func(c *Config, l []string) { c.RequestHeaders = convertList[Property](l) }),
	"response_headers": listOption(func(c *Config, l []string) { c.ResponseHeaders = convertList[Property](l) }),
}
