package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

// The file store vectors (testdata/stores-file-lua-resty-session-4.1.5.json)
// record what lua-resty-session 4.1.5 wrote into a file directory: every
// file after each step, with its content and modification time. Two
// directions: the reference's files open with this library, and this
// library, with the same session ids and clock, writes the same files.

type fileVectorFile struct {
	Vectors []fileVector `json:"vectors"`
}

type fileVector struct {
	Name   string           `json:"name"`
	Pin    string           `json:"pin"`
	Config json.RawMessage  `json:"config"`
	Steps  []fileVectorStep `json:"steps"`
}

type fileVectorStep struct {
	Cmd       string          `json:"cmd"`
	Note      string          `json:"note"`
	Config    json.RawMessage `json:"config"`
	Data      map[string]any  `json:"data"`
	Subject   *string         `json:"subject"`
	OpenFirst bool            `json:"open_first"`
	Request   struct {
		Time         int64   `json:"time"`
		CookieHeader *string `json:"cookie_header"`
	} `json:"request"`
	Result struct {
		Exists   *bool   `json:"exists"`
		Err      *string `json:"err"`
		OpenErr  *string `json:"open_err"`
		Audience *string `json:"audience"`
		Subject  *string `json:"subject"`
		Data     any     `json:"data"`
		Session  struct {
			Entries []fileVectorEntry `json:"entries"`
		} `json:"session"`
	} `json:"result"`
	SetCookie    []string          `json:"set_cookie"`
	JarAfter     map[string]string `json:"jar_after"`
	StorageCalls []struct {
		Method string `json:"method"`
		Args   struct {
			Name        string          `json:"name"`
			Key         string          `json:"key"`
			Value       string          `json:"value"`
			TTL         int64           `json:"ttl"`
			CurrentTime int64           `json:"current_time"`
			OldKey      *string         `json:"old_key"`
			StaleTTL    int64           `json:"stale_ttl"`
			Metadata    *store.Metadata `json:"metadata"`
		} `json:"args"`
		Ret []any `json:"ret"`
	} `json:"storage_calls"`
	Store struct {
		After []fileVectorFileState `json:"after"`
	} `json:"store"`
}

type fileVectorEntry struct {
	Audience string         `json:"audience"`
	Data     map[string]any `json:"data"`
	Subject  *string        `json:"subject"`
}

type fileVectorFileState struct {
	File    string `json:"file"`
	Content string `json:"content"`
	MtimeAt int64  `json:"mtime_at"`
	Index   []struct {
		Key         string `json:"key"`
		ExpAt       int64  `json:"exp_at"`
		Invalidated bool   `json:"invalidated"`
	} `json:"index"`
}

func loadFileVectors(t *testing.T) []fileVector {
	t.Helper()
	if !fileColonNames {
		t.Skip("the reference's index names hold ':', which this OS does not take in a file name")
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "stores-file-lua-resty-session-4.1.5.json"))
	if err != nil {
		t.Fatalf("file store vectors (testdata/, part of the repository): %v", err)
	}
	var f fileVectorFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) != 3 {
		t.Fatalf("%d file vectors, want 3", len(f.Vectors))
	}
	return f.Vectors
}

// config returns the Manager configuration of step i: the vector's, with
// the step's options over it (none when i is negative), read by ParseConfig
// as a Kong or OpenResty configuration is; a FileStore on dir configured
// from its file section; the clock at now; ids from rnd.
func (v fileVector) config(t *testing.T, i int, now int64, dir string, rnd *pinnedStoreRand) Config {
	t.Helper()
	var opts map[string]json.RawMessage
	if err := json.Unmarshal(v.Config, &opts); err != nil {
		t.Fatal(err)
	}
	if i >= 0 && v.Steps[i].Config != nil {
		var over map[string]json.RawMessage
		if err := json.Unmarshal(v.Steps[i].Config, &over); err != nil {
			t.Fatal(err)
		}
		maps.Copy(opts, over)
	}
	if _, ok := opts["cookie_secure"]; !ok {
		opts["cookie_secure"] = json.RawMessage("false") // the reference's default
	}
	var file struct{ Prefix, Suffix string }
	json.Unmarshal(opts["file"], &file) //nolint:errcheck // checked by the file names compared
	data, _ := json.Marshal(opts)
	cfg, err := ParseConfig(data)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	st, err := NewFileStore(dir, WithFilePrefix(file.Prefix), WithFileSuffix(file.Suffix))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = st
	cfg.Clock = func() time.Time { return time.Unix(now, 0) }
	if rnd != nil {
		cfg.Rand = rnd
	}
	return cfg
}

// manager returns a Manager configured for step i (see config), at its
// time.
func (v fileVector) manager(t *testing.T, i int, dir string, rnd *pinnedStoreRand) *Manager {
	t.Helper()
	return v.managerAt(t, i, v.Steps[i].Request.Time, dir, rnd)
}

func (v fileVector) managerAt(t *testing.T, i int, now int64, dir string, rnd *pinnedStoreRand) *Manager {
	t.Helper()
	m, err := New(v.config(t, i, now, dir, rnd))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// pinnedStoreRand yields the pinned session ids of a store vector,
// SHA-256("<pin>:<n>").
type pinnedStoreRand struct {
	pin string
	n   int
}

func (r *pinnedStoreRand) Read(p []byte) (int, error) {
	if len(p) != sidSize {
		return 0, fmt.Errorf("pinnedStoreRand: read of %d bytes", len(p))
	}
	r.n++
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s:%d", r.pin, r.n)))
	return copy(p, sum[:]), nil
}

// writeFileState lays the files of a state out in dir, as the reference
// left them.
func writeFileState(t *testing.T, dir string, files []fileVectorFileState) {
	t.Helper()
	for _, f := range files {
		path := filepath.Join(dir, f.File)
		if err := os.WriteFile(path, []byte(f.Content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, time.Unix(f.MtimeAt, 0), time.Unix(f.MtimeAt, 0)); err != nil {
			t.Fatal(err)
		}
	}
}

// issuedEntries maps each session cookie value a vector issued to the
// session's entries when it was issued.
func (v fileVector) issuedEntries() map[string][]fileVectorEntry {
	out := map[string][]fileVectorEntry{}
	for _, s := range v.Steps {
		for _, line := range s.SetCookie {
			name, rest, _ := strings.Cut(line, "=")
			value, _, _ := strings.Cut(rest, ";")
			if value != "" && !strings.HasPrefix(name, "rr_") {
				out[value] = s.Result.Session.Entries
			}
		}
	}
	return out
}

// sessionCookie returns the session cookie's value in a Cookie header.
func sessionCookie(header string) string {
	for _, c := range strings.Split(header, "; ") {
		if name, value, _ := strings.Cut(c, "="); strings.HasPrefix(name, "sr_") {
			return value
		}
	}
	return ""
}

// TestFileVectorsOpen: every cookie the reference sent back in a step
// opens with this library on the reference's files as they were before the
// step, with the same data, subject and audience, or fails as the
// reference's did.
func TestFileVectorsOpen(t *testing.T) {
	for _, v := range loadFileVectors(t) {
		issued := v.issuedEntries()
		for i, step := range v.Steps {
			if step.Request.CookieHeader == nil {
				continue
			}
			t.Run(fmt.Sprintf("%s/%d_%s", v.Name, i, step.Cmd), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				writeFileState(t, dir, v.Steps[i-1].Store.After)
				m := v.manager(t, i, dir, nil)
				s := m.NewSession(newRecorder(*step.Request.CookieHeader))
				err := s.Open()
				wantErr := step.Result.OpenErr
				if step.Cmd == "open" {
					wantErr = step.Result.Err
				}
				if wantErr != nil {
					if *wantErr == "unable to load session (<dir>/"+m.Store().(*FileStore).recordBase(m.CookieName(), cookieKey(*step.Request.CookieHeader))+": No such file or directory)" {
						if !errors.Is(err, ErrNotFound) {
							t.Fatalf("Open: %v, want ErrNotFound as the reference's %q", err, *wantErr)
						}
						return
					}
					checkErr(t, "open", err, *wantErr)
					return
				}
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				var want *fileVectorEntry
				for _, e := range issued[sessionCookie(*step.Request.CookieHeader)] {
					if e.Audience == s.Audience() {
						want = &e
					}
				}
				if want == nil || want.Subject == nil {
					t.Fatalf("the vector issued no entry of audience %q for this cookie", s.Audience())
				}
				if s.Subject() != *want.Subject || !reflect.DeepEqual(s.Data(), want.Data) {
					t.Errorf("opened subject %q, data %v; want %q, %v", s.Subject(), s.Data(), *want.Subject, want.Data)
				}
				if step.Cmd == "open" && (s.Audience() != *step.Result.Audience || s.Subject() != *step.Result.Subject ||
					!reflect.DeepEqual(s.Data(), step.Result.Data)) {
					t.Errorf("opened %q %q %v; the reference opened %q %q %v", s.Audience(), s.Subject(), s.Data(),
						*step.Result.Audience, *step.Result.Subject, step.Result.Data)
				}
			})
		}
	}
}

// cookieKey is the storage key of the session cookie in a Cookie header:
// the base64url of the session id, bytes 3 to 35 of the cookie's header.
func cookieKey(header string) string {
	raw := sessionCookie(header)
	if len(raw) < 48 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(raw[:48])
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b[3:35])
}

// indexed is a session Manager.Sessions should list.
type indexed struct {
	expires  int64
	remember bool
}

// wantIndexed is what Manager.Sessions should list for subject in audience
// on the reference's files at now: the keys the reference's own indexes
// hold as live, whose record is there and not expired, with the record's
// expiry; its indexes are those of the encoded subject and, for sessions of
// two audiences, of the subject as given. fileName names the files of a
// cookie name.
func wantIndexed(files []fileVectorFileState, fileName func(name, part string) string, session, remember, audience, subject string, now int64) map[string]indexed {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	byName := map[string]fileVectorFileState{}
	for _, f := range files {
		byName[f.File] = f
	}
	out := map[string]indexed{}
	for _, name := range []string{session, remember} {
		live := map[string]bool{}
		for _, sub := range []string{b64(subject), subject} {
			in := map[string]bool{}
			for _, e := range byName[fileName(name, b64(audience)+":"+sub)].Index {
				in[e.Key] = !e.Invalidated && e.ExpAt > now
			}
			for k, ok := range in {
				live[k] = live[k] || ok
			}
		}
		for key, ok := range live {
			if rec, found := byName[fileName(name, key)]; ok && found && rec.MtimeAt > now {
				out[key] = indexed{rec.MtimeAt, name == remember}
			}
		}
	}
	return out
}

// TestFileVectorsIndex: after each step, Manager.Sessions lists from the
// reference's files what the reference's index holds, and RevokeSessions
// removes those records so that their cookies no longer open.
func TestFileVectorsIndex(t *testing.T) {
	const subject = "alice@example.com"
	for _, v := range loadFileVectors(t) {
		for i, step := range v.Steps {
			t.Run(fmt.Sprintf("%s/%d_%s", v.Name, i, step.Cmd), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				writeFileState(t, dir, step.Store.After)
				m := v.managerAt(t, -1, step.Request.Time, dir, nil) // the vector's audience, app-a
				st := m.Store().(*FileStore)
				want := wantIndexed(step.Store.After, st.fileName, m.CookieName(), m.RememberCookieName(), "app-a", subject, step.Request.Time)
				got, err := m.Sessions(context.Background(), subject)
				if err != nil {
					t.Fatal(err)
				}
				gotMap := map[string]indexed{}
				for _, e := range got {
					gotMap[e.Key] = indexed{e.Expires.Unix(), e.Remember}
				}
				if !maps.Equal(gotMap, want) {
					t.Fatalf("Sessions = %v, want what the reference's index holds: %v", gotMap, want)
				}
				n, err := m.RevokeSessions(context.Background(), subject)
				if err != nil || n != len(want) {
					t.Fatalf("RevokeSessions = %d, %v; want %d", n, err, len(want))
				}
				for key := range want {
					for _, name := range []string{m.CookieName(), m.RememberCookieName()} {
						if _, err := os.Stat(st.recordPath(name, key)); !errors.Is(err, os.ErrNotExist) {
							t.Errorf("record %s %s still there after RevokeSessions: %v", name, key, err)
						}
					}
				}
				if left, _ := m.Sessions(context.Background(), subject); len(left) != 0 {
					t.Errorf("Sessions after RevokeSessions = %v", left)
				}
				// The cookies of this step open no more, unless Sessions could
				// not see them: a session the reference saved with two
				// audiences is indexed under the raw subject (see
				// docs/stores.md).
				jar := step.JarAfter
				if len(jar) == 0 {
					return
				}
				header := ""
				for _, name := range slices.Sorted(maps.Keys(jar)) {
					header += name + "=" + jar[name] + "; "
				}
				s := m.NewSession(newRecorder(strings.TrimSuffix(header, "; ")))
				err = s.Open()
				_, listed := want[cookieKey(header)]
				switch {
				case listed && !errors.Is(err, ErrNotFound):
					t.Errorf("a revoked session's cookie: Open = %v, want ErrNotFound", err)
				case !listed && len(step.Result.Session.Entries) > 1 && err != nil:
					t.Errorf("a two-audience session Sessions cannot see: Open = %v, want it open still", err)
				}
			})
		}
	}
}

// fileState reads the files of dir the reference would see (not the
// subdirectories, not temporary files), by name.
func fileState(t *testing.T, dir string) map[string]fileVectorFileState {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]fileVectorFileState{}
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := e.Info()
		out[e.Name()] = fileVectorFileState{File: e.Name(), Content: string(data), MtimeAt: info.ModTime().Unix()}
	}
	return out
}

// fileDiff is one way the files Go left differ from the reference's.
type fileDiff struct {
	kind string // "missing", "extra", "content" or "mtime"
	file string
}

// fileDiffs lists how the files Go left differ from the reference's at
// now, with details for a failure message. An index file's time is
// compared with what this store sets (see file_index.go): the later of now
// and its longest-lived entry's expiry, where the reference leaves now
// after a key is replaced or deleted.
func fileDiffs(got map[string]fileVectorFileState, want []fileVectorFileState, now int64) (map[fileDiff]string, map[fileDiff]bool) {
	out := map[fileDiff]string{}
	indexTime := map[fileDiff]bool{} // mtimes that differ from the reference's only by that rule
	seen := map[string]bool{}
	for _, w := range want {
		seen[w.File] = true
		g, ok := got[w.File]
		wantMtime := w.MtimeAt
		if w.Index != nil {
			live := map[string]int64{}
			for _, e := range w.Index {
				if live[e.Key] = e.ExpAt; e.Invalidated || e.ExpAt <= now {
					delete(live, e.Key)
				}
			}
			wantMtime = max(now, slices.Max(append(slices.Collect(maps.Values(live)), 0)))
			if wantMtime != w.MtimeAt {
				indexTime[fileDiff{"mtime", w.File}] = true
			}
		}
		switch {
		case !ok:
			out[fileDiff{"missing", w.File}] = ""
		case g.Content != w.Content:
			out[fileDiff{"content", w.File}] = fmt.Sprintf("%q, want %q", g.Content, w.Content)
		case g.MtimeAt-wantMtime > 1 || wantMtime-g.MtimeAt > 1:
			out[fileDiff{"mtime", w.File}] = fmt.Sprintf("%d, want %d", g.MtimeAt, wantMtime)
		}
	}
	for name := range got {
		if !seen[name] {
			out[fileDiff{"extra", name}] = ""
		}
	}
	return out, indexTime
}

// Differences from the reference's files, by vector and step, and why.
// Store: this store's departures (docs/stores.md). Engine: the session
// library calls the store otherwise than the reference does.
var fileVectorDiffs = func() map[string]map[fileDiff]string {
	const (
		group  = "store: Delete ends the record's group, the stale records the session left on rotation among them (the reference deletes the record alone)"
		twoAud = "engine: with two audiences the reference indexes the raw subject (alice@example.com); sessiongo encodes every subject alike, so the pair's index is the base64url one, which also gets the new key"
		logout = "engine: a logout of one audience removes the replaced record at once (it still holds the logged-out audience); the reference keeps it for the stale TTL"
		ttl    = "engine: the record's TTL ends with the absolute timeout (15 s from the login, so 5 s); the reference's stays the rolling timeout (12 s)"
	)
	const (
		loginSR = "storeref_sr_file_login_"
		loginRR = "storeref_rr_file_login_"
		aud     = "storeref_sr_file_aud_"
		alice   = "YWxpY2VAZXhhbXBsZS5jb20"
	)
	destroyLogin := map[fileDiff]string{
		{"missing", loginSR + fkA + ".sess"}: group,
		{"missing", loginRR + fkC + ".sess"}: group,
	}
	audStep1 := map[fileDiff]string{
		{"content", aud + "YXBwLWE:" + alice + ".sess"}:     twoAud,
		{"extra", aud + "YXBwLWI:" + alice + ".sess"}:       twoAud,
		{"missing", aud + "YXBwLWE:alice@example.com.sess"}: twoAud,
		{"missing", aud + "YXBwLWI:alice@example.com.sess"}: twoAud,
	}
	audStep2 := maps.Clone(audStep1)
	audStep2[fileDiff{"missing", aud + "7tQnbQuWo5BAIAr3UMmqeuC_HFlY7o2oElDXRh-gfyw.sess"}] = logout
	audStep3 := maps.Clone(audStep2)
	audStep3[fileDiff{"missing", aud + "kmFwyBebR-mSioi8-D5vF3u_WEeYw7oXqNgtWSRSPn0.sess"}] = group
	return map[string]map[fileDiff]string{
		"file:login/4":     destroyLogin,
		"file:login/5":     destroyLogin,
		"file:audiences/1": audStep1,
		"file:audiences/2": audStep2,
		"file:audiences/3": audStep3,
		"file:refresh/1": {
			{"content", "sr_file_refresh_YXBwLWE:" + alice}:                          ttl,
			{"mtime", "sr_file_refresh_vKdyHYzdZ7fgkI4J_CZDyy1Td7-Pr4a62XO1xuc6CPY"}: ttl,
		},
	}
}()

// TestFileVectorsWrite: the steps of each vector run with this library,
// with the pinned session ids and the recorded clock, send the reference's
// Set-Cookie lines and leave the reference's files (names, contents,
// modification times), but for the differences of fileVectorDiffs.
func TestFileVectorsWrite(t *testing.T) {
	indexTimes := 0
	var mu sync.Mutex
	t.Cleanup(func() {
		if !t.Failed() && indexTimes == 0 {
			t.Error("no index time differed from the reference's: is the rule of file_index.go still needed?")
		}
	})
	for _, v := range loadFileVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			dir := t.TempDir()
			rnd := &pinnedStoreRand{pin: v.Pin}
			for i, step := range v.Steps {
				m := v.manager(t, i, dir, rnd)
				header := ""
				if step.Request.CookieHeader != nil {
					header = *step.Request.CookieHeader
				}
				ex := newRecorder(header)
				s := m.NewSession(ex)
				var err error
				switch step.Cmd {
				case "make":
					if step.OpenFirst {
						s.Open() //nolint:errcheck // TestFileVectorsOpen checks it
					}
					s.SetData(step.Data)
					s.SetSubject(*step.Subject)
					err = s.Save()
				case "open":
					s.Open() //nolint:errcheck // likewise
				case "save":
					if err = s.Open(); err == nil {
						s.SetData(step.Data)
						err = s.Save()
					}
				case "start":
					err = s.Start()
				case "logout":
					if err = s.Open(); err == nil {
						err = s.Logout()
					}
				case "destroy":
					if err = s.Open(); err == nil {
						err = s.Destroy()
					}
				default:
					t.Fatalf("unknown command %q", step.Cmd)
				}
				if err != nil {
					t.Fatalf("step %d %s: %v", i, step.Cmd, err)
				}
				if !slices.Equal(ex.setCookies, step.SetCookie) {
					t.Errorf("step %d %s: Set-Cookie\n%q\nwant the reference's\n%q", i, step.Cmd, ex.setCookies, step.SetCookie)
				}
				got, times := fileDiffs(fileState(t, dir), step.Store.After, step.Request.Time)
				expected := fileVectorDiffs[fmt.Sprintf("%s/%d", v.Name, i)]
				for d, detail := range got {
					if _, ok := expected[d]; !ok {
						t.Errorf("step %d %s: %s %s %s", i, step.Cmd, d.kind, d.file, detail)
					}
				}
				for d, why := range expected {
					if _, ok := got[d]; !ok {
						t.Errorf("step %d %s: %s %s no longer differs from the reference's (%s): update fileVectorDiffs", i, step.Cmd, d.kind, d.file, why)
					}
				}
				for d := range times {
					if _, ok := got[d]; !ok {
						mu.Lock()
						indexTimes++
						mu.Unlock()
					}
				}
			}
		})
	}
}

// TestFileVectorsStoreCalls: the reference's storage calls of each step,
// made on a FileStore, leave the reference's files, but that Delete ends a
// record's whole group (the records it replaced), and marks those of them
// that an index still lists as deleted there, and the index time rule of
// fileDiffs.
func TestFileVectorsStoreCalls(t *testing.T) {
	ctx := context.Background()
	for _, v := range loadFileVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := v.config(t, -1, 0, dir, nil)
			st := cfg.Store.(*FileStore)
			groupOf := map[string]string{} // record file -> the file that started its group
			gone := map[string]bool{}      // files the reference keeps, deleted with their group
			for i, step := range v.Steps {
				for _, c := range step.StorageCalls {
					a := c.Args
					now := time.Unix(a.CurrentTime, 0)
					base := st.recordBase(a.Name, a.Key)
					switch c.Method {
					case "set":
						o := store.SetOptions{TTL: time.Duration(a.TTL) * time.Second, Now: now, Metadata: a.Metadata,
							StaleTTL: time.Duration(a.StaleTTL) * time.Second}
						groupOf[base] = base
						if a.OldKey != nil {
							o.OldKey = *a.OldKey
							groupOf[base] = groupOf[st.recordBase(a.Name, o.OldKey)]
						}
						if err := st.Set(ctx, a.Name, a.Key, []byte(a.Value), o); err != nil {
							t.Fatalf("step %d: Set: %v", i, err)
						}
					case "get":
						got, err := st.Get(ctx, a.Name, a.Key, store.GetOptions{Now: now})
						if want, ok := c.Ret[0].(string); ok && (err != nil || string(got) != want) {
							t.Errorf("step %d: Get = %q, %v; want %q", i, got, err, want)
						} else if !ok && !errors.Is(err, ErrNotFound) {
							t.Errorf("step %d: Get = %q, %v; want ErrNotFound as the reference's %v", i, got, err, c.Ret[1])
						}
					case "delete":
						if err := st.Delete(ctx, a.Name, a.Key, store.DeleteOptions{Now: now, Metadata: a.Metadata}); err != nil {
							t.Fatalf("step %d: Delete: %v", i, err)
						}
						for r, g := range groupOf {
							if g == groupOf[base] && r != base {
								gone[r] = true
							}
						}
					}
				}
				files := fileState(t, dir)
				got, _ := fileDiffs(files, step.Store.After, step.Request.Time)
				for d, detail := range got {
					switch {
					case d.kind == "missing" && gone[d.file]:
					case d.kind == "content" && goneTombstones(st, files[d.file].Content, step.Store.After, d.file, gone):
					default:
						t.Errorf("step %d %s: %s %s %s", i, step.Cmd, d.kind, d.file, detail)
					}
				}
				for _, f := range step.Store.After {
					if _, ok := got[fileDiff{"missing", f.File}]; gone[f.File] && !ok {
						t.Errorf("step %d %s: %s outlived the Delete of its group", i, step.Cmd, f.File)
					}
				}
			}
		})
	}
}

// goneTombstones reports whether an index file holds the reference's
// content followed only by "key;" entries of records deleted with their
// group (gone), which the reference keeps.
func goneTombstones(st *FileStore, content string, want []fileVectorFileState, file string, gone map[string]bool) bool {
	i := slices.IndexFunc(want, func(f fileVectorFileState) bool { return f.File == file })
	if i < 0 {
		return false
	}
	extra, ok := strings.CutPrefix(content, want[i].Content)
	if !ok || extra == "" {
		return false
	}
	for _, k := range strings.Split(strings.TrimSuffix(extra, ";"), ";") {
		if !slices.ContainsFunc(slices.Collect(maps.Keys(gone)), func(f string) bool {
			return slices.ContainsFunc(st.recordNames(f), func(r store.RecordKey) bool { return r.Key == k })
		}) {
			return false
		}
	}
	return true
}
