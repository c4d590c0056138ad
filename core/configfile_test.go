package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
)

var (
	rawKey = strings.Repeat("k", 32)               // an ikm as the reference writes it
	hexKey = strings.Repeat("0102030405060708", 4) // 64 hex digits
	hexIKM = bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, 4)
)

// parseConfigCases gives every option at least once, with the Config it
// stands for.
var parseConfigCases = []struct {
	name string
	json string
	want Config
}{
	{"empty", `{}`, Config{}},
	{"secret", `{"secret": "s3cret"}`, Config{Secret: "s3cret"}},
	{"secret_fallbacks", `{"secret_fallbacks": ["a", "b"]}`, Config{SecretFallbacks: []string{"a", "b"}}},
	{"secret_fallbacks one string", `{"secret_fallbacks": "a"}`, Config{SecretFallbacks: []string{"a"}}},
	{"ikm raw", `{"ikm": "` + rawKey + `"}`, Config{IKM: []byte(rawKey)}},
	{"ikm_hex", `{"ikm_hex": "` + hexKey + `"}`, Config{IKM: hexIKM}},
	{"ikm_hex with spaces", `{"ikm_hex": " ` + hexKey + "\\n" + `"}`, Config{IKM: hexIKM}},
	{"ikm_fallbacks", `{"ikm_fallbacks": ["` + rawKey + `"]}`, Config{IKMFallbacks: [][]byte{[]byte(rawKey)}}},
	{"ikm_fallbacks_hex", `{"ikm_fallbacks_hex": "` + hexKey + `"}`, Config{IKMFallbacks: [][]byte{hexIKM}}},
	{"both fallback forms, raw first", `{"ikm_fallbacks_hex": ["` + hexKey + `"], "ikm_fallbacks": ["` + rawKey + `"]}`,
		Config{IKMFallbacks: [][]byte{[]byte(rawKey), hexIKM}}},
	// As in the reference, ikm_fallbacks given, even empty, drops secret_fallbacks.
	{"secret_fallbacks with ikm_fallbacks", `{"secret_fallbacks": ["a"], "ikm_fallbacks": ["` + rawKey + `"]}`,
		Config{IKMFallbacks: [][]byte{[]byte(rawKey)}}},
	{"secret_fallbacks with empty ikm_fallbacks_hex", `{"ikm_fallbacks_hex": [], "secret_fallbacks": ["a"]}`, Config{}},
	{"secret_fallbacks with null ikm_fallbacks", `{"ikm_fallbacks": null, "secret_fallbacks": ["a"]}`,
		Config{SecretFallbacks: []string{"a"}}},
	{"cookie_prefix", `{"cookie_prefix": "__Host-"}`, Config{CookiePrefix: "__Host-"}},
	{"cookie_name", `{"cookie_name": "sid"}`, Config{CookieName: "sid"}},
	{"cookie_path", `{"cookie_path": "/app"}`, Config{CookiePath: "/app"}},
	{"cookie_domain", `{"cookie_domain": "example.com"}`, Config{CookieDomain: "example.com"}},
	{"cookie_http_only false", `{"cookie_http_only": false}`, Config{DisableHTTPOnly: true}},
	{"cookie_http_only true", `{"cookie_http_only": true}`, Config{}},
	{"cookie_secure false", `{"cookie_secure": false}`, Config{DisableSecure: true}},
	{"cookie_secure true", `{"cookie_secure": true}`, Config{}},
	{"cookie_priority", `{"cookie_priority": "High"}`, Config{CookiePriority: "High"}},
	{"cookie_same_site", `{"cookie_same_site": "Strict"}`, Config{CookieSameSite: "Strict"}},
	{"cookie_same_party", `{"cookie_same_party": true}`, Config{CookieSameParty: true}},
	{"cookie_partitioned", `{"cookie_partitioned": true}`, Config{CookiePartitioned: true}},
	{"remember", `{"remember": true}`, Config{Remember: true}},
	{"remember_safety", `{"remember_safety": "Very High"}`, Config{RememberSafety: "Very High"}},
	{"remember_cookie_name", `{"remember_cookie_name": "keep"}`, Config{RememberCookieName: "keep"}},
	{"audience", `{"audience": "shop"}`, Config{Audience: "shop"}},
	{"subject", `{"subject": "alice"}`, Config{Subject: "alice"}},
	{"enforce_same_subject", `{"enforce_same_subject": true}`, Config{EnforceSameSubject: true}},
	{"stale_ttl", `{"stale_ttl": 30}`, Config{StaleTTL: 30 * time.Second}},
	{"idling_timeout", `{"idling_timeout": 1800}`, Config{IdlingTimeout: 30 * time.Minute}},
	{"rolling_timeout", `{"rolling_timeout": 7200}`, Config{RollingTimeout: 2 * time.Hour}},
	{"absolute_timeout", `{"absolute_timeout": 1e3}`, Config{AbsoluteTimeout: 1000 * time.Second}},
	{"remember_rolling_timeout", `{"remember_rolling_timeout": 86400}`, Config{RememberRollingTimeout: 24 * time.Hour}},
	{"remember_absolute_timeout", `{"remember_absolute_timeout": 60.0}`, Config{RememberAbsoluteTimeout: time.Minute}},
	{"touch_threshold", `{"touch_threshold": 5}`, Config{TouchThreshold: 5 * time.Second}},
	{"timeouts of 0 are off", `{"stale_ttl": 0, "idling_timeout": 0, "rolling_timeout": 0, "absolute_timeout": 0,
		"remember_rolling_timeout": 0, "remember_absolute_timeout": 0, "touch_threshold": 0}`,
		Config{StaleTTL: Disabled, IdlingTimeout: Disabled, RollingTimeout: Disabled, AbsoluteTimeout: Disabled,
			RememberRollingTimeout: Disabled, RememberAbsoluteTimeout: Disabled, TouchThreshold: Disabled}},
	{"hash_storage_key", `{"hash_storage_key": true}`, Config{HashStorageKey: true}},
	{"hash_subject", `{"hash_subject": true}`, Config{HashSubject: true}},
	{"store_metadata", `{"store_metadata": true}`, Config{StoreMetadata: true}},
	{"max_sessions_per_subject", `{"max_sessions_per_subject": 3}`, Config{MaxSessionsPerSubject: 3}},
	{"refuse_over_limit", `{"refuse_over_limit": true}`, Config{RefuseOverLimit: true}},
	{"compression_threshold", `{"compression_threshold": 2048}`, Config{CompressionThreshold: 2048}},
	{"compression_threshold 0 is off", `{"compression_threshold": 0}`, Config{CompressionThreshold: -1}},
	{"bind", `{"bind": ["ip", "scheme", "user-agent"]}`, Config{Bind: []Binding{"ip", "scheme", "user-agent"}}},
	{"bind one string", `{"bind": "ip"}`, Config{Bind: []Binding{"ip"}}},
	{"request_headers", `{"request_headers": ["id", "timeout"]}`, Config{RequestHeaders: []Property{"id", "timeout"}}},
	{"response_headers", `{"response_headers": ["subject"]}`, Config{ResponseHeaders: []Property{"subject"}}},
	{"null is the default", `{"secret": null, "idling_timeout": null, "bind": null, "cookie_secure": null}`, Config{}},
	{"storage and its sections are skipped", `{"secret": "s", "storage": "redis", "redis": {"host": "10.0.0.5"},
		"memcached": {}, "memcache": {}, "postgres": {}, "postgresql": {}, "mysql": {}, "mariadb": {},
		"file": {"path": "/tmp"}, "shm": {"zone": "sessions"}, "dshm": {}}`, Config{Secret: "s"}},
	{"custom storage section is skipped", `{"secret": "s", "storage": "my-storage", "my-storage": {"x": 1}}`, Config{Secret: "s"}},
	{"Kong's logout options are skipped", `{"secret": "s", "logout_methods": ["POST", "DELETE"],
		"logout_query_arg": "session_logout", "logout_post_arg": "session_logout", "read_body_for_logout": false}`,
		Config{Secret: "s"}},
	{"Kong plugin entity", `{"id": "7c1f", "name": "session", "enabled": true, "protocols": ["http", "https"],
		"route": null, "config": {"secret": "s", "storage": "cookie", "idling_timeout": 900, "cookie_secure": false,
		"logout_methods": ["POST"], "hash_subject": null}}`,
		Config{Secret: "s", IdlingTimeout: 15 * time.Minute, DisableSecure: true}},
	{"Kong plugin entity without a name", `{"config": {"audience": "api"}}`, Config{Audience: "api"}},
	{"Kong plugin entity with a null config", `{"name": "session", "config": null}`, Config{}},
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range parseConfigCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseConfig([]byte(tt.json))
			if err != nil {
				t.Fatalf("ParseConfig(%s): %v", tt.json, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseConfig(%s)\n got %+v\nwant %+v", tt.json, got, tt.want)
			}
		})
	}
}

// TestParseConfigCoversOptions checks that the cases above give every
// option, and that every field of Config that JSON can hold is an option,
// under the snake case of its name: a field added to Config must be added
// to ParseConfig too.
func TestParseConfigCoversOptions(t *testing.T) {
	t.Parallel()
	given := map[string]bool{}
	for _, tt := range parseConfigCases {
		var m map[string]any
		if err := json.Unmarshal([]byte(tt.json), &m); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for k := range m {
			given[k] = true
		}
	}
	for name := range configOptions {
		if !given[name] {
			t.Errorf("option %s has no case in parseConfigCases", name)
		}
	}
	notOptions := map[string]bool{"Store": true, "Revocation": true, "Clock": true, "Rand": true, "Logger": true, "Hooks": true}
	renamed := map[string]string{"DisableHTTPOnly": "cookie_http_only", "DisableSecure": "cookie_secure"}
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		f := typ.Field(i).Name
		if notOptions[f] {
			continue
		}
		name, ok := renamed[f]
		if !ok {
			name = snakeCase(f)
		}
		if _, ok := configOptions[name]; !ok {
			t.Errorf("Config.%s has no option %s in ParseConfig", f, name)
		}
	}
}

// snakeCase turns a field name into the reference's option name:
// IdlingTimeout is idling_timeout, IKMFallbacks is ikm_fallbacks, StaleTTL is
// stale_ttl.
func snakeCase(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json, want string
	}{
		{"empty input", ``, "not a JSON object"},
		{"truncated", `{"secret": `, "not a JSON object"},
		{"array", `["secret"]`, "not a JSON object"},
		{"string", `"secret"`, "not a JSON object"},
		{"trailing data", `{} {}`, "trailing data"},
		{"key given twice", `{"cookie_secure": true, "cookie_secure": false}`, `"cookie_secure" given twice`},
		{"unknown option", `{"secret": "s", "cookie_secur": false}`, "cookie_secur: unknown option"},
		{"unknown option with null", `{"idle_timeout": null}`, "idle_timeout: unknown option"},
		{"names are case-sensitive", `{"Secret": "s"}`, "Secret: unknown option"},
		{"Go field names are not options", `{"DisableSecure": true}`, "DisableSecure: unknown option"},
		{"custom storage section needs its storage", `{"my-storage": {}}`, "my-storage: unknown option"},
		{"empty key", `{"": 1}`, ": unknown option"},
		{"empty key with an empty storage", `{"storage": "", "": 1}`, ": unknown option"},
		{"string is a number", `{"secret": 42}`, "secret: want a string"},
		{"empty secret", `{"secret": ""}`, "secret: empty"},
		{"boolean as a string", `{"remember": "true"}`, "remember: want true or false"},
		{"boolean as a number", `{"cookie_secure": 0}`, "cookie_secure: want true or false"},
		{"duration as a string", `{"idling_timeout": "15m"}`, "idling_timeout: want a number"},
		{"fractional seconds", `{"idling_timeout": 1.5}`, "idling_timeout: want a whole number"},
		{"negative seconds", `{"rolling_timeout": -1}`, "rolling_timeout: -1 is negative"},
		{"seconds out of range", `{"absolute_timeout": 9223372037}`, "absolute_timeout: 9223372037 seconds is out of range"},
		{"number out of range", `{"stale_ttl": 1e300}`, "stale_ttl: 1e300 is out of range"},
		{"huge integer", `{"touch_threshold": 99999999999999999999}`, "is out of range"},
		{"negative compression_threshold", `{"compression_threshold": -5}`, "compression_threshold: -5 is negative"},
		{"compression_threshold out of range", `{"compression_threshold": 4294967296}`, "compression_threshold: 4294967296 bytes is out of range"},
		{"list of numbers", `{"bind": [1]}`, "bind: want an array of strings"},
		{"list as an object", `{"request_headers": {"id": true}}`, "request_headers: want an array of strings"},
		{"short ikm", `{"ikm": "short"}`, "ikm: 5 bytes, want exactly 32"},
		{"ikm as a number", `{"ikm": 32}`, "ikm: want a string"},
		{"ikm_hex not hex", `{"ikm_hex": "zz"}`, "ikm_hex: not hex"},
		{"ikm_hex short", `{"ikm_hex": "abcd"}`, "ikm_hex: 2 bytes, want 32 (64 hex digits)"},
		{"ikm and ikm_hex", `{"ikm": "` + rawKey + `", "ikm_hex": "` + hexKey + `"}`, "ikm, ikm_hex: both given"},
		{"bad fallback", `{"ikm_fallbacks_hex": ["` + hexKey + `", "abcd"]}`, "ikm_fallbacks_hex: element 1: 2 bytes"},
		{"bad raw fallback", `{"ikm_fallbacks": ["short"]}`, "ikm_fallbacks: element 0: 5 bytes"},
		{"Kong entity of another plugin", `{"name": "openid-connect", "config": {}}`, "name: \"openid-connect\" is not"},
		{"Kong config not an object", `{"name": "session", "config": 5}`, "config: not a JSON object"},
		{"option outside Kong's config", `{"config": {}, "secret": "s"}`, "secret: outside the config"},
		{"unknown option in Kong's config", `{"name": "session", "config": {"secrett": "s"}}`, "secrett: unknown option"},
		{"key given twice in Kong's config", `{"config": {"secret": "a", "secret": "b"}}`, "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := ParseConfig([]byte(tt.json))
			if err == nil {
				t.Fatalf("ParseConfig(%s) = %+v, want an error with %q", tt.json, cfg, tt.want)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not match ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if !reflect.DeepEqual(cfg, Config{}) {
				t.Errorf("a Config came with the error: %+v", cfg)
			}
		})
	}
}

func TestParseConfigFunc(t *testing.T) {
	t.Parallel()
	data := `{"name": "session", "config": {"store": "redis://db", "secret": "s", "storage": "redis",
		"redis": {"host": "db"}, "colour": null, "audience": "api"}}`
	var keys []string
	var store string
	cfg, err := ParseConfigFunc([]byte(data), func(key string, value json.RawMessage) error {
		keys = append(keys, key+"="+string(value))
		if key == "store" {
			return json.Unmarshal(value, &store)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Config{Secret: "s", Audience: "api"}); !reflect.DeepEqual(cfg, want) {
		t.Errorf("config %+v, want %+v", cfg, want)
	}
	// Every key that is not an option, in order, skipped ones and nulls too;
	// the entity's own members are not options of the session.
	if want := []string{`store="redis://db"`, `storage="redis"`, `redis={"host": "db"}`, `colour=null`}; !reflect.DeepEqual(keys, want) {
		t.Errorf("other got %q, want %q", keys, want)
	}
	if store != "redis://db" {
		t.Errorf("store %q", store)
	}

	errColour := errors.New("no colours here")
	_, err = ParseConfigFunc([]byte(`{"secret": "s", "colour": "blue"}`), func(key string, _ json.RawMessage) error {
		if key == "colour" {
			return errColour
		}
		return nil
	})
	if !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, errColour) || !strings.Contains(err.Error(), "colour: no colours here") {
		t.Errorf("error %v, want ErrInvalidConfig, the function's error and the key", err)
	}

	// The options themselves never reach other, and their errors stay
	// ParseConfig's.
	_, err = ParseConfigFunc([]byte(`{"secret": 1}`), func(string, json.RawMessage) error { return nil })
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "secret: want a string") {
		t.Errorf("error %v", err)
	}
}

// configFileVector is the part of a reference vector that this test needs
// (the vectors themselves are described in vectors_test.go).
type configFileVector struct {
	Name   string          `json:"name"`
	Config json.RawMessage `json:"config"`
	Steps  []struct {
		Request struct {
			Time       int64  `json:"time"`
			RemoteAddr string `json:"remote_addr"`
			Scheme     string `json:"scheme"`
			UserAgent  string `json:"user_agent"`
		} `json:"request"`
		Result struct {
			SetCookie []string       `json:"set_cookie"`
			Data      map[string]any `json:"data"`
		} `json:"result"`
	} `json:"steps"`
}

// TestParseConfigVectors parses the configuration of each reference vector,
// given in the reference's option names, and opens with it the cookie that
// the reference made in the vector's first step.
func TestParseConfigVectors(t *testing.T) {
	t.Parallel()
	path := os.Getenv("SESSIONGO_VECTORS")
	if path == "" {
		path = filepath.Join("testdata", "lua-resty-session-4.1.5.json")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []configFileVector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			cfg, err := ParseConfig(v.Config)
			if err != nil {
				t.Fatalf("ParseConfig(%s): %v", v.Config, err)
			}
			step := v.Steps[0]
			cfg.Clock = func() time.Time { return time.Unix(step.Request.Time, 0) }
			m, err := New(cfg)
			if err != nil {
				t.Fatalf("New(ParseConfig(%s)): %v", v.Config, err)
			}
			if len(step.Result.SetCookie) == 0 {
				return // the reference made no cookie (too large)
			}
			var cookies []string
			for _, line := range step.Result.SetCookie {
				pair, _, _ := strings.Cut(line, ";")
				cookies = append(cookies, pair)
			}
			r := httptest.NewRequest("GET", step.Request.Scheme+"://example.com/", nil)
			r.Header.Set("Cookie", strings.Join(cookies, "; "))
			r.Header.Set("User-Agent", step.Request.UserAgent)
			r.RemoteAddr = step.Request.RemoteAddr + ":40000"
			s, err := openHTTP(m, httptest.NewRecorder(), r)
			if err != nil {
				t.Fatalf("the reference's cookie does not open: %v", err)
			}
			// Compare values, not text: the session keeps numbers as the
			// reference wrote them (1e+20), the vector file as JSON does.
			raw, _ := json.Marshal(s.Data())
			var got any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(step.Result.Data)
			var wantV any
			json.Unmarshal(want, &wantV) //nolint:errcheck // made by json.Marshal
			if !reflect.DeepEqual(got, wantV) {
				t.Errorf("data %s, want %s", raw, want)
			}
		})
	}
}

// FuzzParseConfig feeds arbitrary JSON to ParseConfig: it must never panic,
// fail only with ErrInvalidConfig, and give the same Config twice.
func FuzzParseConfig(f *testing.F) {
	for _, tt := range parseConfigCases {
		f.Add([]byte(tt.json))
	}
	f.Add([]byte(`{"ikm_fallbacks_hex": ["` + hexKey + `", 1]}`))
	f.Add([]byte(`{"config": {"config": {}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not match ErrInvalidConfig", err)
			}
			return
		}
		again, err := ParseConfig(data)
		if err != nil || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("parsed twice: %+v then %+v, %v", cfg, again, err)
		}
		if cfg.IKM != nil && len(cfg.IKM) != ikmSize {
			t.Fatalf("ikm of %d bytes accepted", len(cfg.IKM))
		}
	})
}
