package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// TestUsage checks the exit codes and messages of bad command lines, and
// --help for every command.
func TestUsage(t *testing.T) {
	t.Parallel()
	cookie := strings.TrimSpace(mustRun(t, "", "new", "--secret", "s"))
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string // a substring of stdout
		stderr string // a substring of stderr
	}{
		{"no command", "", nil, 2, "", "Commands:"},
		{"unknown command", "", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"help", "", []string{"help"}, 0, "Commands:", ""},
		{"help open", "", []string{"help", "open"}, 0, "Usage: sessionctl open", ""},
		{"open --help", "", []string{"open", "--help"}, 0, "-idling-timeout", ""},
		{"new --help", "", []string{"new", "--help"}, 0, "-data", ""},
		{"keygen --help", "", []string{"keygen", "-h"}, 0, "Usage: sessionctl keygen", ""},
		{"sessions --help", "", []string{"sessions", "--help"}, 0, "list|revoke", ""},
		{"unknown flag", "", []string{"open", "--secert", "s"}, 2, "", "flag provided but not defined: -secert"},
		{"bad timeout", "", []string{"open", "--secret", "s", "--idling-timeout", "soon", cookie}, 2, "", "want seconds"},
		{"no key", cookie, []string{"open"}, 2, "", "no key"},
		{"no cookie", "", []string{"open", "--secret", "s"}, 2, "", "no cookie given"},
		{"bad ikm hex", "", []string{"open", "--ikm-hex", "abcd", cookie}, 2, "", "32 (64 hex digits)"},
		{"bad bind", "", []string{"open", "--secret", "s", "--bind", "cookie", cookie}, 2, "", `unknown bind "cookie"`},
		{"bad remember safety", "", []string{"new", "--secret", "s", "--remember-safety", "Extreme"}, 2, "", "remember_safety"},
		{"bad now", "", []string{"open", "--secret", "s", "--now", "yesterday", cookie}, 2, "", "--now"},
		{"bad data", "", []string{"new", "--secret", "s", "--data", `["not","an","object"]`}, 2, "", "--data"},
		{"new with arguments", "", []string{"new", "--secret", "s", "extra"}, 2, "", "no arguments"},
		{"missing config file", "", []string{"open", "--config", "/nonexistent/sessionctl.json", cookie}, 2, "", "--config"},
		{"bad store scheme", "", []string{"open", "--secret", "s", "--store", "ftp://x", cookie}, 2, "", `unknown scheme "ftp"`},
		{"store not a URL", "", []string{"open", "--secret", "s", "--store", "localhost", cookie}, 2, "", "not a URL"},
		{"sessions without action", "", []string{"sessions", "--store", "sqlite:///tmp/x.db", "--subject", "a"}, 2, "", "want list or revoke"},
		{"sessions without store", "", []string{"sessions", "list", "--subject", "a"}, 2, "", "needs --store"},
		{"sessions without subject", "", []string{"sessions", "list", "--store", "redis://127.0.0.1:1"}, 2, "", "needs --subject"},
		{"memcached prefix with a space", "", []string{"sessions", "list", "--store", "memcached://127.0.0.1:1?prefix=my+app", "--subject", "a"}, 2, "", "WithPrefix"},
		{"sentinel without master", "", []string{"sessions", "list", "--store", "redis-sentinel://127.0.0.1:26390", "--subject", "a"}, 2, "", "master_name"},
		{"check: opens", "", []string{"open", "--secret", "s", "--check", cookie}, 0, `"exists": true`, ""},
		{"check: does not open", "", []string{"open", "--secret", "other", "--check", cookie}, 1, `"exists": false`, ""},
		{"no check: examined", "", []string{"open", "--secret", "other", cookie}, 0, `"class": "invalid"`, ""},
		{"store down", "", []string{"sessions", "list", "--store", "redis://127.0.0.1:1?dial_timeout=1s&max_retries=-1", "--subject", "a", "--timeout", "3s"}, 1, "", "store redis://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := sessionctl(t, tt.stdin, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("sessionctl %q: exit %d, want %d\nstdout: %s\nstderr: %s\nwant stdout with %q, stderr with %q",
					tt.args, r.code, tt.code, r.stdout, r.stderr, tt.stdout, tt.stderr)
			}
			if tt.code == 2 && tt.stderr != "" && r.stdout != "" {
				t.Errorf("usage error wrote to stdout: %s", r.stdout)
			}
		})
	}
}

// TestCookieInput checks every accepted form of the cookie: a Cookie
// header, pairs, Set-Cookie lines, a bare value, arguments or stdin.
func TestCookieInput(t *testing.T) {
	t.Parallel()
	setCookies := mustRun(t, "", "new", "--secret", "s", "--data", `{"n":1}`, "--remember", "--remember-safety", "None", "--now", "1700000000")
	lines := strings.Split(strings.TrimSpace(setCookies), "\n")
	session := strings.TrimPrefix(strings.SplitN(lines[0], ";", 2)[0], "Set-Cookie: ")
	remember := strings.TrimPrefix(strings.SplitN(lines[1], ";", 2)[0], "Set-Cookie: ")
	value := strings.TrimPrefix(session, "session=")
	tests := []struct {
		name     string
		stdin    string
		args     []string
		remember bool // the remember cookie was read too
	}{
		{"Set-Cookie lines on stdin", setCookies, nil, true},
		{"Cookie header on stdin", "Cookie: " + session + "; " + remember + "\n", nil, true},
		{"pairs as an argument", "", []string{session + "; " + remember}, true},
		{"pairs as two arguments", "", []string{remember, session}, true},
		{"stdin as -", session, []string{"-"}, false},
		{"bare value", "", []string{value}, false},
		{"lower-case header, other cookies", "cookie: theme=dark; " + session + ", lang=en", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := openReport(t, tt.stdin, append([]string{"--secret", "s", "--now", "1700000010", "--remember", "--remember-safety", "None"}, tt.args...)...)
			if !r.Exists || r.Restored || r.Data["n"] != 1.0 {
				t.Fatalf("exists %v restored %v data %v error %+v", r.Exists, r.Restored, r.Data, r.Error)
			}
			if r.Cookies.Remember.Present != tt.remember {
				t.Errorf("remember cookie present = %v, want %v", r.Cookies.Remember.Present, tt.remember)
			}
			if h := r.Cookies.Session.Header; h == nil || !h.Verified || h.Key == nil || *h.Key != 0 {
				t.Errorf("session header %+v, want verified by key 0", h)
			}
		})
	}
	// An empty Cookie header is a request without cookies.
	r := openReport(t, "Cookie:", "--secret", "s")
	if r.Exists || r.Error == nil || r.Error.Message != "missing session cookie" || r.Error.Class != "not_found" {
		t.Errorf("empty Cookie header: %+v", r.Error)
	}
	// The remember cookie alone restores the session: open shows the
	// cookies a server would send.
	r = openReport(t, remember, "--secret", "s", "--now", "1700000010", "--remember", "--remember-safety", "None")
	if !r.Exists || !r.Restored || len(r.SetCookie) != 2 || !r.Cookies.Remember.Header.Verified || r.Cookies.Session.Present {
		t.Errorf("restore: exists %v restored %v set_cookie %q remember %+v", r.Exists, r.Restored, r.SetCookie, r.Cookies.Remember)
	}
}

// TestOpenDiagnostics checks what open reports about cookies that fail.
func TestOpenDiagnostics(t *testing.T) {
	t.Parallel()
	bound := mustRun(t, "", "new", "--secret", "s", "--bind", "ip", "--remote-addr", "192.0.2.1", "--now", "1700000000")
	stored := strings.TrimSpace(mustRun(t, "", "new", "--secret", "s", "--store", "sqlite://"+t.TempDir()+"/s.db?migrate=true", "--now", "1700000000"))
	big := make([]byte, 3000)
	for i := range big {
		big[i] = byte(i * 7919 >> 3)
	}
	chunked := mustRun(t, "", "new", "--secret", "s", "--compression-threshold", "0", "--data", `{"b":"`+base64.RawURLEncoding.EncodeToString(big)+`"}`, "--now", "1700000000")
	firstChunk := strings.Split(chunked, "\n")[0]
	multi := mustRun(t, "", "new", "--secret", "s", "--audience", "shop", "--subject", "carol", "--now", "1700000000")

	tests := []struct {
		name    string
		cookie  string
		args    []string
		message string
		hint    string
		check   func(t *testing.T, r *report)
	}{
		{"bound to another address", bound, []string{"--remote-addr", "198.51.100.9"}, "invalid session message authentication code", "bound to ip: pass the client's --remote-addr", func(t *testing.T, r *report) {
			if h := r.Cookies.Session.Header; h == nil || h.Verified || strings.Join(h.FlagNames, ",") != "bind-ip" {
				t.Errorf("header %+v, want unverified with flag bind-ip", h)
			}
		}},
		{"wrong secret", bound, []string{"--secret", "other", "--remote-addr", "192.0.2.1"}, "invalid session message authentication code", "bound to ip", nil},
		{"server-side session without --store", stored, nil, "invalid session flags", "pass --store", func(t *testing.T, r *report) {
			if h := r.Cookies.Session.Header; h == nil || h.FlagNames[0] != "storage" || r.Cookies.Session.Length != 110 {
				t.Errorf("session cookie %+v, want a 110-character header with the storage flag", r.Cookies.Session)
			}
		}},
		{"missing chunk", firstChunk, nil, "missing session cookie chunk", "spans 2 cookies and 1 came", func(t *testing.T, r *report) {
			if c := r.Cookies.Session; c.Chunks != 2 || c.ChunksPresent != 1 {
				t.Errorf("chunks %d present %d, want 2 and 1", c.Chunks, c.ChunksPresent)
			}
		}},
		{"other audience", multi, nil, "missing session audience", `audiences are shop; pass --audience`, nil},
		{"expired", bound, []string{"--remote-addr", "192.0.2.1", "--now", "1700090000"}, "session absolute timeout exceeded", "", func(t *testing.T, r *report) {
			tm := r.Cookies.Session.Timeouts
			if tm == nil || *tm.Absolute != 86400-90000 || *tm.Timeout != 900-90000 {
				t.Errorf("timeouts %+v, want exceeded (negative)", tm)
			}
		}},
		{"not a session cookie", "session=hello", nil, "invalid session header", "", func(t *testing.T, r *report) {
			if r.Cookies.Session.HeaderError == nil || r.Cookies.Session.HeaderError.Class != "invalid" {
				t.Errorf("header_error %+v", r.Cookies.Session.HeaderError)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--secret", "s", "--now", "1700000100"}, tt.args...)
			r := openReport(t, tt.cookie, args...)
			if r.Exists || r.Error == nil || r.Error.Message != tt.message {
				t.Fatalf("exists %v error %+v, want %q", r.Exists, r.Error, tt.message)
			}
			if !strings.Contains(r.Hint, tt.hint) {
				t.Errorf("hint %q, want it to contain %q", r.Hint, tt.hint)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// TestConfigFile checks the JSON configuration in the reference's names,
// Kong's plugin wrapper, and that flags override the file.
func TestConfigFile(t *testing.T) {
	t.Parallel()
	ikm := strings.Repeat("k", 32)
	cookie := mustRun(t, "", "new", "--ikm-hex", hex.EncodeToString([]byte(ikm)), "--audience", "api", "--cookie-name", "sid",
		"--idling-timeout", "0", "--data", `{"a":1}`, "--now", "1700000000")
	reference := map[string]any{
		"ikm": ikm, "audience": "api", "cookie_name": "sid", "idling_timeout": 0,
		"storage": "cookie", "redis": map[string]any{"prefix": "ignored"}, "logout_methods": []string{"POST"},
	}
	tests := []struct {
		name    string
		config  any
		args    []string
		exists  bool
		warning string
	}{
		{"reference names", reference, nil, true, ""},
		{"kong plugin entity", map[string]any{"name": "session", "config": reference}, nil, true, ""},
		{"flag overrides the file", reference, []string{"--audience", "other"}, false, ""},
		{"flag turns a timeout back on", reference, []string{"--idling-timeout", "15m"}, false, ""},
		{"unknown option warns", map[string]any{"ikm": ikm, "audience": "api", "cookie_name": "sid", "idling_timeout": 0, "colour": "blue"}, nil, true, "ignoring unknown configuration options: colour"},
		{"unknown option in Kong's config warns", map[string]any{"name": "session", "config": map[string]any{"ikm": ikm, "audience": "api", "cookie_name": "sid", "idling_timeout": 0, "colour": "blue"}}, nil, true, "ignoring unknown configuration options: colour"},
		{"a flag's key replaces the file's", map[string]any{"ikm": strings.Repeat("x", 32), "audience": "api", "cookie_name": "sid", "idling_timeout": 0}, []string{"--ikm-hex", hex.EncodeToString([]byte(ikm))}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"open", "--config", writeJSON(t, tt.config), "--now", "1700003000"}, tt.args...)
			res := sessionctl(t, cookie, args...)
			var r report
			if res.code != 0 || json.Unmarshal([]byte(res.stdout), &r) != nil {
				t.Fatalf("exit %d: %s %s", res.code, res.stdout, res.stderr)
			}
			if r.Exists != tt.exists {
				t.Errorf("exists %v, want %v (error %+v)", r.Exists, tt.exists, r.Error)
			}
			if tt.warning != "" && !strings.Contains(res.stderr, tt.warning) || tt.warning == "" && res.stderr != "" {
				t.Errorf("stderr %q, want %q", res.stderr, tt.warning)
			}
		})
	}
	for _, bad := range []struct {
		name   string
		config string
		stderr string
	}{
		{"not JSON", `{"secret": `, "not a JSON object"},
		{"wrong type", `{"secret": 42}`, "secret: want a string"},
		{"short ikm", `{"ikm": "short"}`, "want exactly 32"},
		{"unreachable storage", `{"secret": "s", "storage": "shm"}`, `storage "shm" cannot be reached`},
		{"fractional timeout", `{"secret": "s", "idling_timeout": 1.5}`, "whole number"},
		{"empty secret", `{"secret": ""}`, "secret: empty"},
		{"option given twice", `{"secret": "s", "cookie_secure": true, "cookie_secure": false}`, "given twice"},
		{"ikm and ikm_hex", `{"ikm": "` + ikm + `", "ikm_hex": "` + hex.EncodeToString([]byte(ikm)) + `"}`, "both given"},
		{"storage section not an object", `{"secret": "s", "storage": "redis", "redis": "10.0.0.5"}`, "redis: want an object"},
		{"entity of another Kong plugin", `{"name": "jwt", "config": {"secret": "s"}}`, "not the entity of Kong's session plugin"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			t.Parallel()
			r := sessionctl(t, cookie, "open", "--config", writeRaw(t, bad.config))
			if r.code != 2 || !strings.Contains(r.stderr, bad.stderr) {
				t.Errorf("exit %d stderr %q, want 2 and %q", r.code, r.stderr, bad.stderr)
			}
		})
	}
}

// TestConfigFileStorage checks that the file's storage and its section make
// the store: core hands them back to sessionctl.
func TestConfigFileStorage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := writeJSON(t, map[string]any{"secret": "s", "storage": "file", "file": map[string]any{"path": dir}, "shm": nil})
	cookie := mustRun(t, "", "new", "--config", config, "--data", `{"a":1}`, "--now", "1700000000")
	r := openReport(t, cookie, "--config", config, "--now", "1700000100")
	if !r.Exists || r.Store == nil || r.Store.URL != "file://"+dir {
		t.Errorf("exists %v store %+v, want the session from file://%s", r.Exists, r.Store, dir)
	}
}

// TestStorageURL checks the store URLs built from the reference's
// storage sections.
func TestStorageURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		storage string
		section string
		want    string
	}{
		{"redis", `{"host":"10.0.0.1","port":6380,"database":2,"password":"pw","prefix":"app"}`, "redis://:pw@10.0.0.1:6380/2?prefix=app"},
		{"redis", `{"ssl":true}`, "rediss://127.0.0.1:6379"},
		{"redis", `{"master":"mymaster","sentinels":[{"host":"s1","port":26379},{"host":"s2"}]}`, "redis-sentinel://s1:26379?addr=s2%3A6379&master_name=mymaster"},
		{"redis", `{"nodes":[{"ip":"n1","port":7000},{"ip":"n2","port":7001}],"suffix":"x"}`, "redis-cluster://n1:7000?addr=n2%3A7001&suffix=x"},
		{"memcached", `{"host":"mc","prefix":"p"}`, "memcached://mc:11211?prefix=p"},
		{"postgres", `{"database":"app","table_name":"s","table_name_meta":"s_meta"}`, "postgres://postgres@127.0.0.1:5432/app?meta_table=s_meta&sslmode=disable&table=s"},
		{"mysql", `{"username":"u","password":"p","database":"app"}`, "mysql://u:p@127.0.0.1:3306/app"},
		{"file", `{"path":"/var/lib/sessions","prefix":"storeref","suffix":"sess"}`, "file:///var/lib/sessions?prefix=storeref&suffix=sess"},
		{"file", `{"path":"/var/lib/sessions"}`, "file:///var/lib/sessions"},
	}
	for _, tt := range tests {
		t.Run(tt.storage+tt.section, func(t *testing.T) {
			var section map[string]any
			if err := json.Unmarshal([]byte(tt.section), &section); err != nil {
				t.Fatal(err)
			}
			got, err := storageURL(tt.storage, section)
			if err != nil || got != tt.want {
				t.Errorf("storageURL = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestKeygen checks that keygen prints a fresh 32-byte key that works as
// --ikm-hex.
func TestKeygen(t *testing.T) {
	t.Parallel()
	var keys [2]map[string]string
	for i := range keys {
		if err := json.Unmarshal([]byte(mustRun(t, "", "keygen", "--json")), &keys[i]); err != nil {
			t.Fatal(err)
		}
	}
	if keys[0]["hex"] == keys[1]["hex"] {
		t.Error("two keygen runs printed the same key")
	}
	raw, err := hex.DecodeString(keys[0]["hex"])
	if err != nil || len(raw) != 32 {
		t.Fatalf("hex %q: %d bytes, %v", keys[0]["hex"], len(raw), err)
	}
	if b, _ := base64.StdEncoding.DecodeString(keys[0]["base64"]); string(b) != string(raw) {
		t.Error("base64 is not the same key")
	}
	if b, _ := base64.RawURLEncoding.DecodeString(keys[0]["base64url"]); string(b) != string(raw) {
		t.Error("base64url is not the same key")
	}
	text := mustRun(t, "", "keygen")
	for _, want := range []string{"--ikm-hex ", `"ikm_hex": "`, "ngx.decode_base64(", "--secret "} {
		if !strings.Contains(text, want) {
			t.Errorf("keygen output lacks %q:\n%s", want, text)
		}
	}
	cookie := mustRun(t, "", "new", "--ikm-hex", keys[0]["hex"])
	if r := openReport(t, cookie, "--ikm-hex", keys[0]["hex"]); !r.Exists {
		t.Errorf("a cookie minted with the generated key does not open: %+v", r.Error)
	}
	if r := openReport(t, cookie, "--ikm-hex", keys[1]["hex"], "--ikm-fallback-hex", keys[0]["hex"]); !r.Exists || *r.Header.Key != 1 {
		t.Errorf("with the key as a fallback: exists %v header %+v", r.Exists, r.Header)
	}
}
