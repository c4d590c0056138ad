package session

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

// hookLog records what Hooks report, one line per call, and checks what
// every event must hold: the request's context, handles that are never a
// session id.
type hookLog struct {
	t     testing.TB
	mu    sync.Mutex
	lines []string
	// handles: the last handle issued per cookie kind, to check that
	// OnRotate's Previous chains to it.
	handles map[CookieKind]Handle
	opens   []OpenEvent
	sizes   []int
}

type hkRequestKey struct{}
type hkCallKey struct{}

func newHookLog(t testing.TB) *hookLog {
	return &hookLog{t: t, handles: map[CookieKind]Handle{}}
}

func (l *hookLog) add(ctx context.Context, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ctx.Value(hkRequestKey{}) == nil {
		l.t.Errorf("%s: the hook's context is not the request's", line)
	}
	l.lines = append(l.lines, line)
}

func (l *hookLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

func (l *hookLog) checkHandle(h Handle) {
	if len(h) != 16 || strings.Trim(string(h), "0123456789abcdef") != "" {
		l.t.Errorf("handle %q: want 16 hex digits", h)
	}
}

func (l *hookLog) hooks() Hooks {
	return Hooks{
		OnOpen: func(ctx context.Context, e OpenEvent) {
			line := "open " + string(e.Outcome)
			if (e.Outcome == OutcomeOpened || e.Outcome == OutcomeRestored) != (e.Handle() != "") {
				l.t.Errorf("%s: handle %q", line, e.Handle())
			}
			if (e.Err == nil) != (e.Outcome == OutcomeOpened || e.Outcome == OutcomeRestored || e.Outcome == OutcomeNone) {
				l.t.Errorf("%s: err %v", line, e.Err)
			}
			l.mu.Lock()
			l.opens = append(l.opens, e)
			l.mu.Unlock()
			l.add(ctx, line)
		},
		OnReject: func(ctx context.Context, e RejectEvent) {
			if e.Err == nil {
				l.t.Errorf("reject without an error")
			}
			l.add(ctx, fmt.Sprintf("reject %s %s", e.Cookie, e.Reason))
		},
		OnCreate: func(ctx context.Context, e Event) {
			l.checkHandle(e.Handle())
			if e.Previous() != "" {
				l.t.Errorf("create with a previous handle")
			}
			l.mu.Lock()
			l.handles[e.Cookie] = e.Handle()
			l.sizes = append(l.sizes, e.Size)
			l.mu.Unlock()
			l.add(ctx, fmt.Sprintf("create %s%s", e.Cookie, map[bool]string{true: " renewed"}[e.Renewed]))
		},
		OnRotate: func(ctx context.Context, e Event) {
			l.checkHandle(e.Handle())
			l.mu.Lock()
			if prev := l.handles[e.Cookie]; e.Previous() != prev {
				l.t.Errorf("rotate %s: previous %q, want the last handle issued, %q", e.Cookie, e.Previous(), prev)
			}
			l.handles[e.Cookie] = e.Handle()
			l.sizes = append(l.sizes, e.Size)
			l.mu.Unlock()
			l.add(ctx, fmt.Sprintf("rotate %s%s", e.Cookie, map[bool]string{true: " renewed"}[e.Renewed]))
		},
		OnDestroy: func(ctx context.Context, e Event) {
			l.mu.Lock()
			if want := l.handles[CookieSession]; e.Handle() != want {
				l.t.Errorf("destroy: handle %q, want the session cookie's, %q", e.Handle(), want)
			}
			l.mu.Unlock()
			l.add(ctx, "destroy "+e.Audience)
		},
		OnLogout: func(ctx context.Context, e Event) {
			l.checkHandle(e.Handle())
			l.add(ctx, "logout "+e.Audience)
		},
		OnRevoke: func(ctx context.Context, e RevokeEvent) {
			l.add(ctx, fmt.Sprintf("revoke %s %d", e.Scope, e.Records))
		},
		OnStoreError: func(ctx context.Context, e StoreEvent) {
			l.add(ctx, fmt.Sprintf("store error %s %s", e.Op, e.Cookie))
		},
		OnStoreCall: func(ctx context.Context, c StoreCall) (context.Context, func(error)) {
			if c.Store == "" || c.Audience == "" {
				l.t.Errorf("store call %+v: no store type or audience", c)
			}
			l.add(ctx, fmt.Sprintf("call %s %s", c.Op, c.Cookie))
			return context.WithValue(ctx, hkCallKey{}, c.Op), func(err error) {
				if err != nil {
					l.add(ctx, fmt.Sprintf("done %s %s: not found %v", c.Op, c.Cookie, errors.Is(err, ErrNotFound)))
				}
			}
		},
	}
}

// hkStore checks that every call runs with the context OnStoreCall
// returned, and fails with err while it is set (only calls of failOp, when
// set).
type hkStore struct {
	Store
	t      testing.TB
	mu     sync.Mutex
	err    error
	failOp StoreOp
}

func (s *hkStore) check(ctx context.Context, op StoreOp) error {
	if got := ctx.Value(hkCallKey{}); got != nil && got != op {
		s.t.Errorf("store %s runs with the context of %v", op, got)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failOp != "" && s.failOp != op {
		return nil
	}
	return s.err
}

func (s *hkStore) fail(err error) { s.mu.Lock(); s.err = err; s.mu.Unlock() }

func (s *hkStore) failOnly(op StoreOp, err error) {
	s.mu.Lock()
	s.failOp, s.err = op, err
	s.mu.Unlock()
}

func (s *hkStore) Get(ctx context.Context, name, key string, opts store.GetOptions) ([]byte, error) {
	if err := s.check(ctx, StoreGet); err != nil {
		return nil, err
	}
	return s.Store.Get(ctx, name, key, opts)
}

func (s *hkStore) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	if err := s.check(ctx, StoreSet); err != nil {
		return err
	}
	return s.Store.Set(ctx, name, key, value, opts)
}

func (s *hkStore) Delete(ctx context.Context, name, key string, opts store.DeleteOptions) error {
	if err := s.check(ctx, StoreDelete); err != nil {
		return err
	}
	return s.Store.Delete(ctx, name, key, opts)
}

func (s *hkStore) Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]store.IndexEntry, error) {
	if err := s.check(ctx, StoreSessions); err != nil {
		return nil, err
	}
	return s.Store.(store.SubjectIndex).Sessions(ctx, name, audience, subject, now)
}

func (s *hkStore) GroupInfo(ctx context.Context, name, key string, now time.Time) (store.GroupInfo, error) {
	if err := s.check(ctx, StoreGroupInfo); err != nil {
		return store.GroupInfo{}, err
	}
	return s.Store.(store.GroupInfoReader).GroupInfo(ctx, name, key, now)
}

// hkServe runs h on a request carrying the jar's cookies, in a context the
// hooks must see.
func hkServe(t testing.TB, j stJar, h func(w http.ResponseWriter, r *http.Request)) {
	t.Helper()
	j.serve(t, func(w http.ResponseWriter, r *http.Request) {
		h(w, r.WithContext(context.WithValue(r.Context(), hkRequestKey{}, true)))
	})
}

// hkCounter is a Rand that counts, so that two runs issue the same cookies.
type hkCounter struct{ n byte }

func (c *hkCounter) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

// hkScript is a browser's life: sign-in, a visit, a refresh, a tampered
// cookie, an expired session cookie restored from the remember cookie, a
// second audience logged out, and a logout, as the steps of one table.
type hkStep struct {
	name string
	run  func(t *testing.T, e *hkEnv)
	// want lists the hook calls, for cookie storage and for a store.
	cookie, store []string
}

type hkEnv struct {
	m     *Manager
	shop  *Manager // audience "shop", on the same cookies
	clock *storeClock
	jar   stJar
}

// hkEnvironment returns the Managers of audiences "default" and "shop",
// with one Rand.
func hkEnvironment(t testing.TB, st Store, hooks Hooks, logger *slog.Logger) *hkEnv {
	t.Helper()
	e := &hkEnv{clock: newStoreClock(), jar: stJar{}}
	rand := &hkCounter{}
	e.m = hkManager(t, st, e.clock, hooks, logger, "", rand)
	e.shop = hkManager(t, st, e.clock, hooks, logger, "shop", rand)
	return e
}

func hkManager(t testing.TB, st Store, clock *storeClock, hooks Hooks, logger *slog.Logger, audience string, rand *hkCounter) *Manager {
	t.Helper()
	if rand == nil {
		rand = &hkCounter{}
	}
	return mustNew(t, Config{
		Secret:          "hooks test secret",
		Audience:        audience,
		Store:           st,
		StoreMetadata:   st != nil,
		Clock:           clock.Now,
		Rand:            rand,
		Remember:        true,
		RememberSafety:  SafetyNone,
		IdlingTimeout:   Disabled,
		RollingTimeout:  4 * time.Minute,
		AbsoluteTimeout: time.Hour,
		Logger:          logger,
		Hooks:           hooks,
	})
}

func hkStart(t *testing.T, e *hkEnv) {
	hkServe(t, e.jar, func(w http.ResponseWriter, r *http.Request) {
		if _, err := e.m.Start(w, r); err != nil {
			t.Fatal(err)
		}
	})
}

var hkSteps = []hkStep{
	{
		name:   "first visit",
		run:    hkStart,
		cookie: []string{"open none"},
		store:  []string{"open none"},
	},
	{
		name: "sign-in",
		run: func(t *testing.T, e *hkEnv) {
			hkServe(t, e.jar, func(w http.ResponseWriter, r *http.Request) {
				s, err := e.m.Start(w, r)
				if err != nil {
					t.Fatal(err)
				}
				s.SetSubject("alice")
				s.Set("visits", 0)
				if err := s.Renew(); err != nil {
					t.Fatal(err)
				}
			})
		},
		cookie: []string{"open none", "create session renewed", "create remember renewed"},
		store:  []string{"open none", "call set session", "create session renewed", "call set remember", "create remember renewed"},
	},
	{
		name: "visit (open, save)",
		run: func(t *testing.T, e *hkEnv) {
			hkServe(t, e.jar, func(w http.ResponseWriter, r *http.Request) {
				s, err := e.m.Start(w, r)
				if err != nil || !s.Exists() {
					t.Fatal(err)
				}
				s.Set("visits", 1)
				if err := s.Save(); err != nil {
					t.Fatal(err)
				}
			})
		},
		cookie: []string{"open opened", "rotate session", "rotate remember"},
		store: []string{"call get session", "open opened", "call set session", "rotate session",
			"call get remember", "call set remember", "rotate remember"},
	},
	{
		name: "refresh (a save 3/4 into the rolling timeout)",
		run: func(t *testing.T, e *hkEnv) {
			e.clock.Add(3*time.Minute + time.Second)
			hkStart(t, e)
		},
		cookie: []string{"open opened", "rotate session"},
		store:  []string{"call get session", "open opened", "call set session", "rotate session"},
	},
	{
		name: "tampered session cookie, no remember cookie",
		run: func(t *testing.T, e *hkEnv) {
			tampered := stJar{e.m.CookieName(): hkTamper(e.jar[e.m.CookieName()])}
			hkServe(t, tampered, func(w http.ResponseWriter, r *http.Request) {
				if s, err := e.m.Open(w, r); err != nil || s.Exists() {
					t.Fatalf("a tampered cookie opens: %v", err)
				}
			})
		},
		cookie: []string{"reject session invalid", "open invalid"},
		store:  []string{"reject session invalid", "open invalid"},
	},
	{
		name: "expired session cookie, restored from the remember cookie",
		run: func(t *testing.T, e *hkEnv) {
			e.clock.Add(5 * time.Minute)
			hkStart(t, e)
		},
		cookie: []string{"reject session expired", "rotate remember", "create session", "open restored"},
		store: []string{"reject session expired", "call get remember", "call set remember", "rotate remember",
			"call set session", "create session", "open restored"},
	},
	{
		name: "second audience, logged out of",
		run: func(t *testing.T, e *hkEnv) {
			hkServe(t, e.jar, func(w http.ResponseWriter, r *http.Request) {
				s, _ := e.shop.Open(w, r) // no entry for shop yet
				s.Set("cart", 1)
				if err := s.Save(); err != nil {
					t.Fatal(err)
				}
			})
			hkServe(t, e.jar, func(w http.ResponseWriter, r *http.Request) {
				if err := e.shop.Logout(w, r); err != nil {
					t.Fatal(err)
				}
			})
		},
		cookie: []string{"reject session not_found", "open not_found", "rotate session", "rotate remember",
			"open opened", "rotate session", "rotate remember", "logout shop"},
		store: []string{"call get session", "reject session not_found", "open not_found", "call set session", "rotate session",
			"call get remember", "call set remember", "rotate remember",
			"call get session", "open opened", "call set session", "rotate session",
			"call get remember", "call set remember", "rotate remember", "logout shop"},
	},
	{
		name: "logout",
		run: func(t *testing.T, e *hkEnv) {
			hkServe(t, e.jar, func(w http.ResponseWriter, r *http.Request) {
				if err := e.m.Logout(w, r); err != nil {
					t.Fatal(err)
				}
			})
		},
		cookie: []string{"open opened", "destroy default", "logout default"},
		// Deleting the session record deletes its group, the remember
		// record too: Destroy finds it gone.
		store: []string{"call get session", "open opened", "call delete session",
			"call get remember", "done get remember: not found true", "destroy default", "logout default"},
	},
}

// hkTamper flips one character of a cookie's MAC.
func hkTamper(cookie string) string {
	b := []byte(cookie)
	i := headerEncodedSize - 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestHooksLifecycle drives a browser through hkSteps and checks every
// hook call, in order, with cookie storage and with a store.
func TestHooksLifecycle(t *testing.T) {
	t.Parallel()
	for _, withStore := range []bool{false, true} {
		t.Run(map[bool]string{false: "cookie storage", true: "memory store"}[withStore], func(t *testing.T) {
			t.Parallel()
			log := newHookLog(t)
			var st Store
			if withStore {
				st = &hkStore{Store: newTestMemoryStore(t), t: t}
			}
			e := hkEnvironment(t, st, log.hooks(), nil)
			for _, step := range hkSteps {
				step.run(t, e)
				want := step.cookie
				if withStore {
					want = step.store
				}
				if got := log.take(); !slices.Equal(got, want) {
					t.Errorf("%s: hooks\n%s\nwant\n%s", step.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
		})
	}
}

// TestHooksEventSizes: Event.Size is the name=value bytes the browser
// sends back for the cookie, every chunk counted.
func TestHooksEventSizes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		withStore bool
		data      string
		chunks    int
	}{
		{"store", true, "small", 1},
		{"one cookie", false, "small", 1},
		{"three chunks", false, benchNoiseInternal(9000), 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := newHookLog(t)
			var st Store
			if tt.withStore {
				st = newTestMemoryStore(t)
			}
			m := hkManager(t, st, newStoreClock(), log.hooks(), nil, "", nil)
			var lines []string
			j := stJar{}
			hkServe(t, j, func(w http.ResponseWriter, r *http.Request) {
				s := newHTTP(m, w, r)
				s.Set("data", tt.data)
				s.SetRemember(false)
				if err := s.Save(); err != nil {
					t.Fatal(err)
				}
				lines = w.Header().Values("Set-Cookie")
			})
			want := 0
			for _, line := range lines {
				pair, _, _ := strings.Cut(line, ";")
				want += len(pair)
			}
			if len(lines) != tt.chunks || len(log.sizes) != 1 || log.sizes[0] != want {
				t.Fatalf("%d cookies, sizes %v; want %d cookies, size %d", len(lines), log.sizes, tt.chunks, want)
			}
		})
	}
}

func benchNoiseInternal(n int) string {
	var b strings.Builder
	x := uint32(2463534242)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[x%64])
	}
	return b.String()
}

// TestHooksHandle: a handle is SHA-256 of the label and the session id,
// 8 bytes in hex; it contains neither the id nor the storage key, and
// differs per cookie.
func TestHooksHandle(t *testing.T) {
	t.Parallel()
	var handles []Handle
	hooks := Hooks{
		OnCreate: func(_ context.Context, e Event) { handles = append(handles, e.Handle()) },
		OnOpen:   func(_ context.Context, e OpenEvent) { handles = append(handles, e.Handle()) },
	}
	m := mustNew(t, Config{Secret: "handle test secret", Store: newTestMemoryStore(t), Hooks: hooks})
	r := newRecorder("")
	s := m.NewSession(r)
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	sid := s.meta.sid
	sum := sha256.Sum256(append([]byte("sessiongo handle v1\x00"), sid[:]...))
	want := Handle(hex.EncodeToString(sum[:8]))
	opened := m.NewSession(newRecorder(strings.SplitN(r.setCookies[0], ";", 2)[0]))
	if err := opened.Open(); err != nil {
		t.Fatal(err)
	}
	if len(handles) != 2 || handles[0] != want || handles[1] != want {
		t.Fatalf("handles %q, want %q twice (create, then open of the same cookie)", handles, want)
	}
	for _, secret := range []string{hex.EncodeToString(sid[:]), b64.EncodeToString(sid[:]), m.storageKey(sid[:])} {
		if strings.Contains(secret, string(want)[:8]) || strings.Contains(string(want), secret[:8]) {
			t.Errorf("handle %q shares text with the session id or storage key %q", want, secret)
		}
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	other := handleOf(&s.meta.sid)
	if other == want {
		t.Errorf("two cookies have the same handle %q", want)
	}
}

// TestHooksEventsKeepTheirCookies: an event kept after its hook returned
// still names the cookies of its moment (it holds a copy, not the
// session's id), and printing it with fmt or slog, in any verb or
// handler, shows its handles and never the session id in any encoding.
func TestHooksEventsKeepTheirCookies(t *testing.T) {
	t.Parallel()
	var opens []OpenEvent
	var events []Event
	keep := func(_ context.Context, e Event) { events = append(events, e) }
	hooks := Hooks{
		OnOpen:   func(_ context.Context, e OpenEvent) { opens = append(opens, e) },
		OnCreate: keep, OnRotate: keep, OnDestroy: keep,
	}
	m := mustNew(t, Config{Secret: "handle test secret", Hooks: hooks})
	r := newRecorder("")
	if err := m.NewSession(r).Save(); err != nil {
		t.Fatal(err)
	}
	s := m.NewSession(newRecorder(strings.SplitN(r.setCookies[0], ";", 2)[0]))
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	first := s.meta.sid
	if err := s.Save(); err != nil { // rotates: s.meta.sid changes
		t.Fatal(err)
	}
	second := s.meta.sid
	if err := s.Destroy(); err != nil {
		t.Fatal(err)
	}
	h1, h2 := handleOf(&first), handleOf(&second)
	if len(opens) != 1 || opens[0].Handle() != h1 {
		t.Fatalf("opens %v: want one, of handle %s", opens, h1)
	}
	type names struct{ handle, previous Handle }
	var got []names
	for _, e := range events {
		got = append(got, names{e.Handle(), e.Previous()})
	}
	if want := []names{{h1, ""}, {h2, h1}, {h2, ""}}; !slices.Equal(got, want) {
		t.Fatalf("create, rotate, destroy name %v, want %v", got, want)
	}
	if (OpenEvent{}).Handle() != "" || (Event{}).Handle() != "" || (Event{}).Previous() != "" {
		t.Error("an event without a cookie has a handle")
	}

	rotate := events[1]
	var leaks []string
	for _, sid := range [][sidSize]byte{first, second} {
		leaks = append(leaks, hex.EncodeToString(sid[:]), strings.ToUpper(hex.EncodeToString(sid[:])),
			b64.EncodeToString(sid[:]), fmt.Sprint(sid[:8]), fmt.Sprintf("%#v", sid[:4]), fmt.Sprintf("%q", sid[:8]), string(sid[:8]))
	}
	var printed []string
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%10v"} {
		printed = append(printed, fmt.Sprintf(format, opens[0]), fmt.Sprintf(format, rotate),
			fmt.Sprintf(format, &rotate), fmt.Sprintf(format, []Event{rotate}),
			fmt.Sprintf(format, struct{ E OpenEvent }{opens[0]}))
	}
	for _, h := range []func(io.Writer) slog.Handler{
		func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
		func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
	} {
		var b bytes.Buffer
		slog.New(h(&b)).Info("rotated", "event", rotate, "open", opens[0])
		printed = append(printed, b.String())
	}
	for _, p := range printed {
		for _, leak := range leaks {
			if strings.Contains(p, leak) {
				t.Errorf("printed %q holds a session id (%q)", p, leak)
			}
		}
	}
	for format, want := range map[string]string{
		"%+v": "{Audience:default Cookie:session Handle:" + string(h2) + " Previous:" + string(h1) + " Size:" + fmt.Sprint(rotate.Size) + " Renewed:false}",
		"%#v": `session.Event{Audience:"default", Cookie:"session", Handle:"` + string(h2) + `", Previous:"` + string(h1) + `", Size:` + fmt.Sprint(rotate.Size) + `, Renewed:false}`,
	} {
		if got := fmt.Sprintf(format, rotate); got != want {
			t.Errorf("%s of a rotation: %s, want %s", format, got, want)
		}
	}
	if got, want := fmt.Sprintf("%+v", opens[0]), "{Audience:default Outcome:opened Handle:"+string(h1)+" Err:<nil>}"; got != want {
		t.Errorf("%%+v of an open: %s, want %s", got, want)
	}
}

// TestHooksPanic: a hook that panics never breaks a request: every
// Set-Cookie line is the same as without hooks (same clock, same ids), and
// each panic is logged, with its hook's name, in the request's context.
func TestHooksPanic(t *testing.T) {
	t.Parallel()
	panicking := Hooks{
		OnOpen:       func(context.Context, OpenEvent) { panic("OnOpen") },
		OnReject:     func(context.Context, RejectEvent) { panic("OnReject") },
		OnCreate:     func(context.Context, Event) { panic("OnCreate") },
		OnRotate:     func(context.Context, Event) { panic("OnRotate") },
		OnDestroy:    func(context.Context, Event) { panic("OnDestroy") },
		OnLogout:     func(context.Context, Event) { panic("OnLogout") },
		OnRevoke:     func(context.Context, RevokeEvent) { panic("OnRevoke") },
		OnStoreError: func(context.Context, StoreEvent) { panic("OnStoreError") },
	}
	panicDone := panicking
	panicDone.OnStoreCall = func(ctx context.Context, c StoreCall) (context.Context, func(error)) {
		return ctx, func(error) { panic("OnStoreCall done") }
	}
	panicStart := panicking
	panicStart.OnStoreCall = func(context.Context, StoreCall) (context.Context, func(error)) { panic("OnStoreCall") }
	nilCtx := panicking
	nilCtx.OnStoreCall = func(context.Context, StoreCall) (context.Context, func(error)) { return nil, nil }

	run := func(t *testing.T, withStore bool, hooks Hooks, logs *bytes.Buffer) []string {
		var st Store
		if withStore {
			st = &hkStore{Store: newTestMemoryStore(t), t: t}
		}
		logger := slog.New(&hkCtxHandler{Handler: slog.NewTextHandler(logs, nil), t: t})
		e := hkEnvironment(t, st, hooks, logger)
		var out []string
		for _, step := range hkSteps {
			before := e.jar.clone()
			step.run(t, e)
			out = append(out, step.name+": "+before.header()+" -> "+e.jar.header())
		}
		hkServe(t, e.jar, func(w http.ResponseWriter, r *http.Request) {
			if _, err := e.m.RevokeSessions(r.Context(), "alice"); err != nil && withStore {
				t.Fatal(err)
			}
		})
		return out
	}
	for _, withStore := range []bool{false, true} {
		for _, tt := range []struct {
			name  string
			hooks Hooks
		}{{"hooks panic", panicking}, {"done panics", panicDone}, {"OnStoreCall panics", panicStart}, {"OnStoreCall returns nil", nilCtx}} {
			t.Run(fmt.Sprintf("%s/store %v", tt.name, withStore), func(t *testing.T) {
				t.Parallel()
				var quiet, logs bytes.Buffer
				want := run(t, withStore, Hooks{}, &quiet)
				got := run(t, withStore, tt.hooks, &logs)
				if !slices.Equal(got, want) {
					t.Fatalf("with panicking hooks the browser got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				names := []string{"OnOpen", "OnReject", "OnCreate", "OnRotate", "OnDestroy", "OnLogout"}
				if withStore {
					names = append(names, "OnRevoke")
					if tt.name == "done panics" || tt.name == "OnStoreCall panics" {
						names = append(names, "OnStoreCall")
					}
				}
				for _, name := range names {
					if !strings.Contains(logs.String(), "hook="+name+" ") {
						t.Errorf("no log of the panic of %s in\n%s", name, logs.String())
					}
				}
				if !strings.Contains(logs.String(), "stack=") {
					t.Errorf("the panic's stack is not logged")
				}
			})
		}
	}
}

// hkCtxHandler checks that every record is logged with the request's
// context.
type hkCtxHandler struct {
	slog.Handler
	t testing.TB
}

func (h *hkCtxHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx.Value(hkRequestKey{}) == nil {
		h.t.Errorf("%q is logged without the request's context", r.Message)
	}
	return h.Handler.Handle(ctx, r)
}

// TestHooksStoreError: a store failure reaches OnStoreError and makes the
// open's outcome "error", without a rejection; it is logged (by the
// middleware) in the request's context.
func TestHooksStoreError(t *testing.T) {
	t.Parallel()
	log := newHookLog(t)
	st := &hkStore{Store: newTestMemoryStore(t), t: t}
	var logs bytes.Buffer
	logger := slog.New(&hkCtxHandler{Handler: slog.NewTextHandler(&logs, nil), t: t})
	e := hkEnvironment(t, st, log.hooks(), logger)
	hkSteps[1].run(t, e) // sign-in
	log.take()
	down := errors.New("store down")
	st.fail(down)
	var status int
	hkServe(t, e.jar, func(w http.ResponseWriter, r *http.Request) {
		e.m.Middleware()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			t.Error("the handler runs while the store is down")
		})).ServeHTTP(w, r)
		status = w.(*httptest.ResponseRecorder).Code
	})
	// The remember cookie is tried too, and fails the same way.
	want := []string{"call get session", "done get session: not found false", "store error get session",
		"call get remember", "done get remember: not found false", "store error get remember", "open error"}
	if got := log.take(); !slices.Equal(got, want) || status != http.StatusInternalServerError {
		t.Errorf("hooks\n%s\nwant\n%s (status %d)", strings.Join(got, "\n"), strings.Join(want, "\n"), status)
	}
	if n := len(log.opens); n == 0 || !errors.Is(log.opens[n-1].Err, down) || !errors.Is(log.opens[n-1].Err, ErrStore) {
		t.Errorf("OnOpen's error does not wrap the store's and ErrStore: %+v", log.opens)
	}
	if !strings.Contains(logs.String(), "store down") {
		t.Errorf("the middleware did not log the failure: %q", logs.String())
	}
}

// TestHooksRevocation: with cookie storage and Config.Revocation, the
// marks a logout writes and the lookups of every open are store calls; a
// copy of the cookie is then rejected as revoked; Manager.Revoke and
// RevokeSessions report OnRevoke. With a store, RevokeSessions and
// RevokeSession report the records deleted.
func TestHooksRevocation(t *testing.T) {
	t.Parallel()
	ctx := context.WithValue(context.Background(), hkRequestKey{}, true)
	t.Run("cookie storage", func(t *testing.T) {
		t.Parallel()
		log := newHookLog(t)
		backend := newTestMemoryStore(t)
		m := mustNew(t, Config{Secret: "hooks test secret", Revocation: backend, Hooks: log.hooks(), Clock: newStoreClock().Now})
		j := stJar{}
		hkServe(t, j, func(w http.ResponseWriter, r *http.Request) {
			s := newHTTP(m, w, r)
			s.SetSubject("alice")
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
		})
		copied := j.clone()
		hkServe(t, j, func(w http.ResponseWriter, r *http.Request) {
			if err := m.Destroy(w, r); err != nil {
				t.Fatal(err)
			}
		})
		hkServe(t, copied, func(w http.ResponseWriter, r *http.Request) {
			if s, _ := m.Open(w, r); s.Exists() {
				t.Error("a copy of a destroyed cookie opens")
			}
		})
		if _, err := m.RevokeSessions(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if err := m.Revoke(ctx, "login:1", 0); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"create session",
			"call revoked ", "open opened", "call revoke ", "destroy default",
			"call revoked ", "reject session revoked", "open revoked",
			"call revoke ", "revoke subject 0",
			"call revoke ", "revoke key 0",
		}
		if got := log.take(); !slices.Equal(got, want) {
			t.Errorf("hooks\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("store", func(t *testing.T) {
		t.Parallel()
		log := newHookLog(t)
		st := &hkStore{Store: newTestMemoryStore(t), t: t}
		e := hkEnvironment(t, st, log.hooks(), nil)
		hkSteps[1].run(t, e) // sign-in: a session and a remember record
		other := stJar{}     // a second browser
		e.jar, other = other, e.jar
		hkSteps[1].run(t, e)
		log.take()
		n, err := e.m.RevokeSessions(ctx, "alice")
		if err != nil || n != 4 {
			t.Fatalf("RevokeSessions = %d, %v; want 4 records", n, err)
		}
		if err := e.m.RevokeSession(ctx, "alice", "gone"); err != nil {
			t.Fatal(err)
		}
		// Each index is read twice: under the encoded subject and under
		// the subject as given (the reference's index of sessions of
		// several audiences); RevokeSession reads the latter to find key.
		want := []string{
			"call sessions session", "call sessions remember",
			"call sessions session", "call sessions remember",
			"call delete session", "call delete session", "call delete remember", "call delete remember", "revoke subject 4",
			"call sessions session", "call sessions remember",
			"call delete session", "call delete remember", "revoke session 0",
		}
		if got := log.take(); !slices.Equal(got, want) {
			t.Errorf("hooks\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestHooksDevices: Manager.Devices reads the subject index and then the
// group info of each record, every read a store call; a failed group info
// read reaches OnStoreError, a record gone since the index was read does
// not.
func TestHooksDevices(t *testing.T) {
	t.Parallel()
	ctx := context.WithValue(context.Background(), hkRequestKey{}, true)
	log := newHookLog(t)
	st := &hkStore{Store: newTestMemoryStore(t), t: t}
	e := hkEnvironment(t, st, log.hooks(), nil)
	hkSteps[1].run(t, e) // sign-in: a session and a remember record
	log.take()
	ds, err := e.m.Devices(ctx, "alice")
	if err != nil || len(ds) != 1 {
		t.Fatalf("Devices = %+v, %v; want one device", ds, err)
	}
	index := []string{"call sessions session", "call sessions remember", "call sessions session", "call sessions remember"}
	want := append(slices.Clone(index), "call group_info session", "call group_info remember")
	if got := log.take(); !slices.Equal(got, want) {
		t.Errorf("hooks\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	down := errors.New("store down")
	st.failOnly(StoreGroupInfo, down)
	if _, err := e.m.Devices(ctx, "alice"); !errors.Is(err, ErrStore) || !errors.Is(err, down) {
		t.Fatalf("Devices with group info failing = %v, want ErrStore wrapping the store's error", err)
	}
	want = append(slices.Clone(index), "call group_info session", "done group_info session: not found false", "store error group_info session")
	if got := log.take(); !slices.Equal(got, want) {
		t.Errorf("hooks\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	st.failOnly(StoreGroupInfo, ErrNotFound) // both records ended since the index was read
	if ds, err := e.m.Devices(ctx, "alice"); err != nil || len(ds) != 0 {
		t.Fatalf("Devices with the records gone = %+v, %v; want none", ds, err)
	}
	want = append(slices.Clone(index),
		"call group_info session", "done group_info session: not found true",
		"call group_info remember", "done group_info remember: not found true")
	if got := log.take(); !slices.Equal(got, want) {
		t.Errorf("hooks\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestHooksNilCostsNothing: a Manager whose Hooks are all nil allocates no
// more on open and read than one without Hooks, nor does one with an
// OnOpen that does not ask for the handle; one that asks allocates it.
func TestHooksNilCostsNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	m0 := mustNew(t, Config{Secret: "hooks test secret"})
	r := newRecorder("")
	if err := m0.NewSession(r).Save(); err != nil {
		t.Fatal(err)
	}
	cookie := strings.SplitN(r.setCookies[0], ";", 2)[0]
	allocs := func(hooks Hooks) float64 {
		m := mustNew(t, Config{Secret: "hooks test secret", Hooks: hooks})
		return testing.AllocsPerRun(100, func() {
			s := m.NewSession(newRecorder(cookie))
			if err := s.Open(); err != nil || s.Get("x") != nil {
				t.Fatal(err)
			}
		})
	}
	base := allocs(Hooks{})
	if got := allocs(Hooks{OnOpen: func(context.Context, OpenEvent) {}}); got != base {
		t.Errorf("open with OnOpen: %v allocations, want %v", got, base)
	}
	var h Handle
	if got := allocs(Hooks{OnOpen: func(_ context.Context, e OpenEvent) { h = e.Handle() }}); got != base+1 || len(h) != 16 {
		t.Errorf("open with OnOpen asking for the handle: %v allocations, want %v (the handle)", got, base+1)
	}
	if got := allocs(Hooks{OnRotate: func(context.Context, Event) {}}); got != base {
		t.Errorf("open with OnRotate only: %v allocations, want %v", got, base)
	}
}
