package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const affixSecret = "sessionctl file store affix test secret"

// TestFileStoreAffixes: a file:// URL, and a configuration's "file"
// section, take the file store's prefix and suffix, the reference's file
// names.
func TestFileStoreAffixes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	u := "file://" + dir + "?prefix=storeref&suffix=sess"
	n := mint(t, "--secret", affixSecret, "--store", u, "--subject", "alice")
	if n.Store == nil {
		t.Fatalf("new --store %s: no store in the report", u)
	}
	if _, err := os.Stat(filepath.Join(dir, "storeref_session_"+n.Store.Key+".sess")); err != nil {
		t.Errorf("the record is not where the reference keeps it: %v", err)
	}
	if r := openReport(t, n.Cookie, "--secret", affixSecret, "--store", u, "--now", "1700000100"); !r.Exists {
		t.Errorf("open --store %s: %+v", u, r.Error)
	}
	if r := openReport(t, n.Cookie, "--secret", affixSecret, "--store", "file://"+dir, "--now", "1700000100"); r.Exists {
		t.Error("open without the prefix and suffix found the record")
	}
	config := writeJSON(t, map[string]any{"secret": affixSecret, "storage": "file", "file": map[string]any{"path": dir, "prefix": "storeref", "suffix": "sess"}})
	r := openReport(t, n.Cookie, "--config", config, "--now", "1700000100")
	if !r.Exists || r.Store == nil || r.Store.URL != u {
		t.Errorf("open --config with a file section: exists %v, store %+v; want the session from %s", r.Exists, r.Store, u)
	}

	for _, tt := range []struct{ query, stderr string }{
		{"?table=t", "for SQL stores"},
		{"?migrate=true", "for SQL stores"},
		{"?prefix=p&colour=red", "unknown file parameters: colour=red"},
		{"?prefix=a:b", "WithFilePrefix"},
		{"?suffix=" + strings.Repeat("s", 33), "WithFileSuffix"},
	} {
		r := sessionctl(t, "", "new", "--secret", affixSecret, "--store", "file://"+dir+tt.query)
		if r.code != 2 || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("new --store file://DIR%s: exit %d, stderr %q; want 2 and %q", tt.query, r.code, r.stderr, tt.stderr)
		}
	}
}

// TestOpenChecksRevocation: for cookie storage, open looks the session up
// in the configuration's revocation backend as the application does.
func TestOpenChecksRevocation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := map[string]any{"secret": affixSecret, "storage": "cookie", "revocation": "file", "file": map[string]any{"path": dir}}
	config := writeJSON(t, base)
	cookie := mustRun(t, "", "new", "--config", config, "--subject", "alice")

	r := openReport(t, cookie, "--config", config)
	if !r.Exists || r.Revocation == nil || r.Revocation.URL != "file://"+dir {
		t.Fatalf("open before any revocation: exists %v (%+v), revocation %+v; want it open, looked up in file://%s", r.Exists, r.Error, r.Revocation, dir)
	}
	mustRun(t, "", "revoke", "--config", config, "--subject", "alice")
	r = openReport(t, cookie, "--config", config)
	if r.Exists || r.Error == nil || r.Error.Class != "not_found" || r.Error.Message != "session revoked" {
		t.Errorf("open after revoke --subject alice: exists %v, error %+v; want not_found, session revoked", r.Exists, r.Error)
	}
	if r := sessionctl(t, cookie, "open", "--config", config, "--check"); r.code != 1 {
		t.Errorf("open --check of a revoked session: exit %d, want 1", r.code)
	}
	r = openReport(t, cookie, "--config", config, "--no-revocation")
	if !r.Exists || r.Revocation != nil {
		t.Errorf("open --no-revocation: exists %v (%+v), revocation %+v; want it open, not looked up", r.Exists, r.Error, r.Revocation)
	}
	// No mark was written by open: bob's session still opens.
	bob := mustRun(t, "", "new", "--config", config, "--subject", "bob")
	if r := openReport(t, bob, "--config", config); !r.Exists {
		t.Errorf("bob's session: %+v", r.Error)
	}

	with := func(extra map[string]any) string {
		c := map[string]any{}
		for k, v := range base {
			c[k] = v
		}
		for k, v := range extra {
			c[k] = v
		}
		return writeJSON(t, c)
	}
	// A server-side store: deleting the record revokes, and the
	// application has no revocation backend.
	stored := with(map[string]any{"storage": "file"})
	storedCookie := mustRun(t, "", "new", "--config", stored, "--subject", "alice")
	if r := openReport(t, storedCookie, "--config", stored); !r.Exists || r.Revocation != nil {
		t.Errorf("open with a server-side store: exists %v (%+v), revocation %+v; want it open, not looked up", r.Exists, r.Error, r.Revocation)
	}

	down := map[string]any{"revocation": "redis", "redis": map[string]any{"host": "127.0.0.1", "port": 1, "password": "hunter2"}}
	for _, tt := range []struct {
		name   string
		config string
		code   int
		stderr string
	}{
		{"unreachable from sessionctl", with(map[string]any{"revocation": "shm"}), 2, "--no-revocation"},
		{"backend down, fail closed", with(down), 1, "revocation backend redis://"},
	} {
		r := sessionctl(t, cookie, "open", "--config", tt.config, "--timeout", "3s")
		if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) || strings.Contains(r.stderr, "hunter2") || strings.Contains(r.stderr, "panic") {
			t.Errorf("open, %s: exit %d, stderr %q; want exit %d, %q, no password", tt.name, r.code, r.stderr, tt.code, tt.stderr)
		}
	}
	down["revocation_fail_mode"] = "open"
	if r := openReport(t, bob, "--config", with(down), "--timeout", "3s"); !r.Exists {
		t.Errorf("open, backend down, fail open: %+v; want the session open", r.Error)
	}
}
