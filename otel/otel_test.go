package sessionotel_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	sessionotel "github.com/sessiongo/session/otel"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock               { return &clock{now: time.Unix(1_750_000_000, 0)} }
func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// jar is a browser's cookies.
type jar map[string]string

func (j jar) header() string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(j)) {
		parts = append(parts, n+"="+j[n])
	}
	return strings.Join(parts, "; ")
}

// serve runs h on a request that carries the jar's cookies, in a context
// with the request's span, and keeps the response's cookies.
func (j jar) serve(t *testing.T, ctx context.Context, h func(w http.ResponseWriter, r *http.Request)) {
	t.Helper()
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://example.com/", nil)
	if len(j) > 0 {
		r.Header.Set("Cookie", j.header())
	}
	w := httptest.NewRecorder()
	h(w, r)
	for _, line := range w.Result().Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxAge < 0 {
			delete(j, c.Name)
		} else {
			j[c.Name] = c.Value
		}
	}
}

// telemetry is a meter provider with a manual reader and a tracer provider
// with a span recorder.
type telemetry struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	mp     *sdkmetric.MeterProvider
	tp     *sdktrace.TracerProvider
}

func newTelemetry() *telemetry {
	tel := &telemetry{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	return tel
}

// metrics returns every data point: a counter's value, or a histogram's
// count, under "name{key=value,...}".
func (tel *telemetry) metrics(t *testing.T) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != sessionotel.ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if !d.IsMonotonic {
					t.Errorf("%s is not monotonic", m.Name)
				}
				for _, p := range d.DataPoints {
					out[m.Name+attrs(p.Attributes)] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+attrs(p.Attributes)] = int64(p.Count)
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+attrs(p.Attributes)] = int64(p.Count)
					if min, _ := p.Min.Value(); min <= 0 {
						t.Errorf("%s: a cookie of %d bytes", m.Name, min)
					}
				}
			default:
				t.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

func attrs(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.Emit())
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// scriptEnv is one browser's life on one Manager.
type scriptEnv struct {
	m       *session.Manager
	clock   *clock
	jar     jar
	ctx     context.Context // the request's, with its span
	secrets []string        // what no telemetry may hold: cookie values, subject
}

func start(t *testing.T, e *scriptEnv, j jar, then func(s *session.Session)) {
	t.Helper()
	j.serve(t, e.ctx, func(w http.ResponseWriter, r *http.Request) {
		s, err := e.m.Start(w, r)
		if err != nil {
			t.Fatal(err)
		}
		if then != nil {
			then(s)
		}
	})
	for _, v := range j {
		e.secrets = append(e.secrets, v)
	}
}

// script is the sequence: sign-in (Renew, with remember on), a visit
// (Save), a refresh (a save 3/4 into the rolling timeout), a tampered
// session cookie, and a logout.
func script(t *testing.T, e *scriptEnv) {
	t.Helper()
	start(t, e, e.jar, func(s *session.Session) { // sign-in
		s.SetSubject("alice")
		if err := s.Renew(); err != nil {
			t.Fatal(err)
		}
	})
	start(t, e, e.jar, func(s *session.Session) { // visit
		if !s.Exists() {
			t.Fatal("the signed-in session does not open")
		}
		s.Set("visits", 1)
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	})
	e.clock.Add(3*time.Minute + time.Second) // refresh
	start(t, e, e.jar, nil)
	name := e.m.CookieName()
	tampered := []byte(e.jar[name])
	// One character of the MAC, the header's last 22 characters.
	if tampered[100] == 'A' {
		tampered[100] = 'B'
	} else {
		tampered[100] = 'A'
	}
	start(t, e, jar{name: string(tampered)}, func(s *session.Session) {
		if s.Exists() {
			t.Fatal("a tampered cookie opens")
		}
	})
	e.jar.serve(t, e.ctx, func(w http.ResponseWriter, r *http.Request) { // logout
		if err := e.m.Logout(w, r); err != nil {
			t.Fatal(err)
		}
	})
}

// TestScript runs the script with a memory store and with cookie storage
// (and revocation, whose lookups and marks are the store calls), and
// checks every metric data point and every span.
func TestScript(t *testing.T) {
	const aud = "{session.audience=default"
	common := map[string]int64{
		"session.opens" + aud + ",session.outcome=none}":    1, // sign-in
		"session.opens" + aud + ",session.outcome=opened}":  3, // visit, refresh, logout
		"session.opens" + aud + ",session.outcome=invalid}": 1, // tampered
		// Sign-in creates both cookies, the visit rotates both, the refresh
		// the session cookie.
		"session.saves" + aud + ",session.cookie=session}":                            3,
		"session.saves" + aud + ",session.cookie=remember}":                           2,
		"session.rotations" + aud + ",session.cookie=session,session.renewed=false}":  2,
		"session.rotations" + aud + ",session.cookie=remember,session.renewed=false}": 1,
		"session.cookie.size" + aud + ",session.cookie=session}":                      3,
		"session.cookie.size" + aud + ",session.cookie=remember}":                     2,
		"session.destroys" + aud + "}":                                                1,
		"session.logouts" + aud + "}":                                                 1,
	}
	for _, tt := range []struct {
		name    string
		store   bool
		metrics map[string]int64
		spans   []string
	}{
		{
			name:  "memory store",
			store: true,
			metrics: map[string]int64{
				// Gets: the visit's session and remember records, the
				// refresh's, the logout's session record, and its remember
				// record, which deleting the session deleted (its group).
				"session.store.duration" + aud + ",session.store.operation=get,session.store.type=session.MemoryStore}":                                    4,
				"session.store.duration{error.type=not_found,session.audience=default,session.store.operation=get,session.store.type=session.MemoryStore}": 1,
				// Sets: sign-in 2, visit 2, refresh 1.
				"session.store.duration" + aud + ",session.store.operation=set,session.store.type=session.MemoryStore}":    5,
				"session.store.duration" + aud + ",session.store.operation=delete,session.store.type=session.MemoryStore}": 1,
			},
			spans: []string{
				"session.store.delete session", "session.store.get remember", "session.store.get remember not_found",
				"session.store.get session", "session.store.get session", "session.store.get session",
				"session.store.set remember", "session.store.set remember",
				"session.store.set session", "session.store.set session", "session.store.set session",
			},
		},
		{
			name: "cookie storage with revocation",
			metrics: map[string]int64{
				// Lookups: the visit's open and its re-issued remember
				// cookie, the refresh's and the logout's open; the
				// tampered cookie costs none. Marks: the logout's.
				"session.store.duration" + aud + ",session.store.operation=revoked,session.store.type=session.MemoryStore}": 4,
				"session.store.duration" + aud + ",session.store.operation=revoke,session.store.type=session.MemoryStore}":  1,
			},
			spans: []string{
				"session.store.revoke ", "session.store.revoked ", "session.store.revoked ", "session.store.revoked ", "session.store.revoked ",
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tel := newTelemetry()
			st := newMemoryStore(t)
			e := &scriptEnv{clock: newClock(), jar: jar{}, secrets: []string{"alice"}}
			cfg := session.Config{
				Clock:          e.clock.Now,
				Remember:       true,
				RememberSafety: session.SafetyNone,
				IdlingTimeout:  session.Disabled,
				RollingTimeout: 4 * time.Minute,
				StoreMetadata:  true,
			}
			if tt.store {
				cfg.Store = st
			} else {
				cfg.Revocation = st
			}
			e.m = newInstrumented(t, cfg, tel.mp, tel.tp)
			ctx, request := tel.tp.Tracer("test").Start(context.Background(), "request")
			e.ctx = ctx
			script(t, e)
			request.End()

			want := maps.Clone(common)
			maps.Copy(want, tt.metrics)
			got := tel.metrics(t)
			if !maps.Equal(got, want) {
				t.Errorf("metrics:\n%s\nwant:\n%s", dump(got), dump(want))
			}

			var spans []string
			for _, s := range tel.spans.Ended() {
				if s.Name() == "request" {
					continue
				}
				if s.Parent().SpanID() != request.SpanContext().SpanID() || s.SpanKind() != trace.SpanKindInternal {
					t.Errorf("span %s: parent %v, kind %v; want a child of the request's span, internal", s.Name(), s.Parent().SpanID(), s.SpanKind())
				}
				line := s.Name() + " "
				for _, kv := range s.Attributes() {
					for _, secret := range e.secrets {
						if v := kv.Value.Emit(); strings.Contains(v, secret) || (len(v) >= 16 && strings.Contains(secret, v)) {
							t.Errorf("span %s: attribute %s holds a cookie or the subject", s.Name(), kv.Key)
						}
					}
					switch kv.Key {
					case sessionotel.CookieKey:
						line += kv.Value.AsString()
					case sessionotel.ErrorTypeKey:
						line += " " + kv.Value.AsString()
					}
				}
				if s.Status().Code == codes.Error {
					t.Errorf("span %s: status error for a missing record", s.Name())
				}
				spans = append(spans, line)
			}
			sort.Strings(spans)
			if !slices.Equal(spans, tt.spans) {
				t.Errorf("spans:\n%s\nwant:\n%s", strings.Join(spans, "\n"), strings.Join(tt.spans, "\n"))
			}
		})
	}
}

func dump(m map[string]int64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "  %s = %d\n", k, m[k])
	}
	return b.String()
}

// failing is a store whose calls fail.
type failing struct{ session.Store }

var errDown = errors.New("store down at 10.0.0.1, key in clear")

func (failing) Get(context.Context, string, string, store.GetOptions) ([]byte, error) {
	return nil, errDown
}

// TestStoreFailure: a failing store call is a span with status Error and
// error.type, without the error's text; the open's outcome is error.
func TestStoreFailure(t *testing.T) {
	t.Parallel()
	tel := newTelemetry()
	st := newMemoryStore(t)
	m := newInstrumented(t, session.Config{Store: failing{st}}, tel.mp, tel.tp)
	// A header that authenticates: made by a Manager on the working store.
	good, err := session.New(session.Config{Secret: "sessionotel test secret", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	j := jar{}
	j.serve(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		s, _ := good.Open(w, r)
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	})
	ctx, request := tel.tp.Tracer("test").Start(context.Background(), "request")
	j.serve(t, ctx, func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.Open(w, r); !errors.Is(err, session.ErrStore) {
			t.Fatalf("Open = %v, want ErrStore", err)
		}
	})
	request.End()
	spans := tel.spans.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2 (the request's and the store call's)", len(spans))
	}
	s := spans[0]
	if s.Status().Code != codes.Error || strings.Contains(s.Status().Description, "10.0.0.1") {
		t.Errorf("status %+v: want Error, without the error's text", s.Status())
	}
	var errType string
	for _, kv := range s.Attributes() {
		if kv.Key == sessionotel.ErrorTypeKey {
			errType = kv.Value.AsString()
		}
	}
	if errType != "errors.errorString" {
		t.Errorf("error.type %q, want the error's Go type", errType)
	}
	got := tel.metrics(t)
	want := map[string]int64{
		"session.opens{session.audience=default,session.outcome=error}":                                                                                          1,
		"session.store.duration{error.type=errors.errorString,session.audience=default,session.store.operation=get,session.store.type=sessionotel_test.failing}": 1,
	}
	if !maps.Equal(got, want) {
		t.Errorf("metrics:\n%s\nwant:\n%s", dump(got), dump(want))
	}
}

// TestInstrumentKeepsHooks: hooks already in the Config still run, before
// this package's, which runs even when they panic; the user's store call
// observer nests inside the span.
func TestInstrumentKeepsHooks(t *testing.T) {
	t.Parallel()
	tel := newTelemetry()
	st := newMemoryStore(t)
	var calls []string
	var request trace.Span
	cfg := session.Config{
		Secret: "sessionotel test secret",
		Store:  st,
		Hooks: session.Hooks{
			OnOpen: func(context.Context, session.OpenEvent) { calls = append(calls, "open"); panic("user hook") },
			OnStoreCall: func(ctx context.Context, c session.StoreCall) (context.Context, func(error)) {
				if sp := trace.SpanFromContext(ctx); sp == request {
					t.Error("the user's observer runs outside the store call's span")
				}
				calls = append(calls, "call "+string(c.Op))
				return ctx, func(error) { calls = append(calls, "done"); panic("user done") }
			},
		},
	}
	if err := sessionotel.Instrument(&cfg, sessionotel.WithMeterProvider(tel.mp), sessionotel.WithTracerProvider(tel.tp)); err != nil {
		t.Fatal(err)
	}
	if err := sessionotel.Instrument(nil); !errors.Is(err, sessionotel.ErrInvalid) {
		t.Errorf("Instrument(nil) = %v, want ErrInvalid", err)
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	j := jar{}
	ctx, request := tel.tp.Tracer("test").Start(context.Background(), "request")
	j.serve(t, ctx, func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Open(w, r)
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	})
	if want := []string{"open", "call set", "done"}; !slices.Equal(calls, want) {
		t.Errorf("user hooks %v, want %v", calls, want)
	}
	got := tel.metrics(t)
	if got["session.opens{session.audience=default,session.outcome=none}"] != 1 ||
		got["session.store.duration{session.audience=default,session.store.operation=set,session.store.type=session.MemoryStore}"] != 1 {
		t.Errorf("metrics after panicking user hooks:\n%s", dump(got))
	}
	if n := len(tel.spans.Ended()); n != 1 {
		t.Errorf("%d spans ended, want 1", n)
	}
}

// TestDevices: the store calls of Manager.Devices, the subject index's and
// the group info's, are spans and durations like the others.
func TestDevices(t *testing.T) {
	t.Parallel()
	tel := newTelemetry()
	m := newInstrumented(t, session.Config{Store: newMemoryStore(t), StoreMetadata: true}, tel.mp, tel.tp)
	jar{}.serve(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Open(w, r)
		s.SetSubject("alice")
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	})
	ctx, request := tel.tp.Tracer("test").Start(context.Background(), "request")
	ds, err := m.Devices(ctx, "alice")
	request.End()
	if err != nil || len(ds) != 1 {
		t.Fatalf("Devices = %+v, %v; want one device", ds, err)
	}
	groupInfo := 0
	for _, s := range tel.spans.Ended() {
		if s.Name() != "session.store.group_info" {
			continue
		}
		groupInfo++
		if s.Parent().SpanID() != request.SpanContext().SpanID() {
			t.Errorf("span %s: not a child of the request's span", s.Name())
		}
		want := map[attribute.Key]string{
			sessionotel.StoreOperationKey: "group_info",
			sessionotel.StoreTypeKey:      "session.MemoryStore",
			sessionotel.AudienceKey:       "default",
			sessionotel.CookieKey:         "session",
		}
		for _, kv := range s.Attributes() {
			if w, ok := want[kv.Key]; ok && kv.Value.AsString() == w {
				delete(want, kv.Key)
			}
		}
		if len(want) > 0 {
			t.Errorf("span %s: attributes %v, missing %v", s.Name(), s.Attributes(), want)
		}
	}
	if groupInfo != 1 {
		t.Errorf("%d group_info spans, want 1 (one record)", groupInfo)
	}
	got := tel.metrics(t)
	if n := got["session.store.duration{session.audience=default,session.store.operation=group_info,session.store.type=session.MemoryStore}"]; n != 1 {
		t.Errorf("group_info durations %d, want 1:\n%s", n, dump(got))
	}
}

// globalProvidersSet records that TestGlobalProviders installed the
// global providers.
var globalProvidersSet atomic.Bool

// TestGlobalProviders: with the global providers, Instrument before the
// application installs its SDK works: the counts made before are reported
// once the SDK is installed, and the store spans go to its tracer.
// (It sets the globals: no other test of the package may use them.)
// OpenTelemetry delegates its globals to the first SDK installed, once per
// process, so the test runs once per process (-count=N runs it once).
func TestGlobalProviders(t *testing.T) {
	if globalProvidersSet.Swap(true) {
		t.Skip("the global providers were installed by an earlier run of this test in this process")
	}
	cfg := session.Config{Secret: "sessionotel test secret", Store: newMemoryStore(t)}
	if err := sessionotel.Instrument(&cfg); err != nil {
		t.Fatal(err)
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	open := func() {
		jar{}.serve(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
			if _, err := m.Open(w, r); err != nil {
				t.Fatal(err)
			}
		})
	}
	open() // before the SDK
	tel := newTelemetry()
	otel.SetMeterProvider(tel.mp)
	otel.SetTracerProvider(tel.tp)
	open()
	j := jar{}
	ctx, request := otel.Tracer("test").Start(context.Background(), "request")
	defer request.End()
	j.serve(t, ctx, func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Open(w, r)
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	})
	got := tel.metrics(t)
	want := map[string]int64{
		"session.opens{session.audience=default,session.outcome=none}":                                                        3,
		"session.saves{session.audience=default,session.cookie=session}":                                                      1,
		"session.cookie.size{session.audience=default,session.cookie=session}":                                                1,
		"session.store.duration{session.audience=default,session.store.operation=set,session.store.type=session.MemoryStore}": 1,
	}
	if !maps.Equal(got, want) {
		t.Errorf("metrics:\n%s\nwant:\n%s", dump(got), dump(want))
	}
	if spans := tel.spans.Ended(); len(spans) != 1 || spans[0].Name() != "session.store.set" {
		t.Errorf("spans %v, want session.store.set", spans)
	}
}

// TestSharedProviders: two Managers of one audience instrumented with the
// same providers add up in one series, as two users of a synchronous
// counter would.
func TestSharedProviders(t *testing.T) {
	t.Parallel()
	tel := newTelemetry()
	for range 2 {
		cfg := session.Config{Secret: "sessionotel test secret"}
		if err := sessionotel.Instrument(&cfg, sessionotel.WithMeterProvider(tel.mp), sessionotel.WithTracerProvider(tel.tp)); err != nil {
			t.Fatal(err)
		}
		m, err := session.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		jar{}.serve(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
			if _, err := m.Open(w, r); err != nil {
				t.Fatal(err)
			}
		})
	}
	for collection := range 2 { // cumulative: the second collection reports the same
		got := tel.metrics(t)
		want := map[string]int64{"session.opens{session.audience=default,session.outcome=none}": 2}
		if !maps.Equal(got, want) {
			t.Errorf("collection %d:\n%s\nwant:\n%s", collection, dump(got), dump(want))
		}
	}
}

// countingTracers is a tracer provider that counts the spans started with
// its tracers.
type countingTracers struct {
	trace.TracerProvider
	starts *atomic.Int64
}

func (p countingTracers) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return countingTracer{p.TracerProvider.Tracer(name, opts...), p.starts}
}

type countingTracer struct {
	trace.Tracer
	starts *atomic.Int64
}

func (t countingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	t.starts.Add(1)
	return t.Tracer.Start(ctx, name, opts...)
}

// TestSpanParents: a store call is a span under a span that records or a
// sampled remote parent; under an unsampled parent, and with no span at
// all unless WithRootSpans, it starts none (no call to the tracer) and is
// only measured.
func TestSpanParents(t *testing.T) {
	t.Parallel()
	remote := func(flags trace.TraceFlags) func(*sdktrace.TracerProvider) (context.Context, trace.SpanContext) {
		return func(*sdktrace.TracerProvider) (context.Context, trace.SpanContext) {
			sc := trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: flags, Remote: true,
			})
			return trace.ContextWithRemoteSpanContext(context.Background(), sc), sc
		}
	}
	local := func(tp *sdktrace.TracerProvider) (context.Context, trace.SpanContext) {
		ctx, request := tp.Tracer("test").Start(context.Background(), "request")
		return ctx, request.SpanContext()
	}
	none := func(*sdktrace.TracerProvider) (context.Context, trace.SpanContext) {
		return context.Background(), trace.SpanContext{}
	}
	for _, tt := range []struct {
		name    string
		sampler sdktrace.Sampler
		request func(*sdktrace.TracerProvider) (context.Context, trace.SpanContext)
		opts    []sessionotel.Option
		span    bool // a store span is recorded, a child of the request's
	}{
		{"sampled request", sdktrace.ParentBased(sdktrace.AlwaysSample()), local, nil, true},
		{"unsampled request", sdktrace.ParentBased(sdktrace.NeverSample()), local, nil, false},
		{"unsampled request, root spans", sdktrace.ParentBased(sdktrace.NeverSample()), local, []sessionotel.Option{sessionotel.WithRootSpans()}, false},
		{"sampled remote parent", sdktrace.ParentBased(sdktrace.NeverSample()), remote(trace.FlagsSampled), nil, true},
		{"unsampled remote parent", sdktrace.ParentBased(sdktrace.AlwaysSample()), remote(0), nil, false},
		{"no span", sdktrace.AlwaysSample(), none, nil, false},
		{"no span, root spans", sdktrace.ParentBased(sdktrace.AlwaysSample()), none, []sessionotel.Option{sessionotel.WithRootSpans()}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tel := newTelemetry()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tt.sampler), sdktrace.WithSpanProcessor(tel.spans))
			var starts atomic.Int64
			m := newSpanManager(t, tel.mp, countingTracers{tp, &starts}, tt.opts...)
			j := jar{}
			j.serve(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
				s, _ := m.Open(w, r)
				if err := s.Save(); err != nil {
					t.Fatal(err)
				}
			})
			starts.Store(0)
			ended := len(tel.spans.Ended())
			ctx, parent := tt.request(tp)
			j.serve(t, ctx, func(w http.ResponseWriter, r *http.Request) {
				if s, err := m.Open(w, r); err != nil || !s.Exists() {
					t.Fatalf("Open = %v", err)
				}
			})
			spans := tel.spans.Ended()[ended:]
			if tt.span {
				if len(spans) != 1 || spans[0].Name() != "session.store.get" || spans[0].Parent().SpanID() != parent.SpanID() || spans[0].Parent().TraceID() != parent.TraceID() {
					t.Fatalf("spans %v, want session.store.get, a child of %v", spans, parent)
				}
				// The duration recorded is the span's, its exemplar the span.
				p := getDuration(t, tel)
				if want := spans[0].EndTime().Sub(spans[0].StartTime()).Seconds(); p.Sum != want {
					t.Errorf("get duration %vs, want the span's, %vs", p.Sum, want)
				}
				if sid := spans[0].SpanContext().SpanID(); len(p.Exemplars) != 1 || trace.SpanID(p.Exemplars[0].SpanID) != sid {
					t.Errorf("exemplars %+v, want the span %v", p.Exemplars, sid)
				}
			} else {
				if len(spans) != 0 {
					t.Fatalf("spans %v, want none", spans)
				}
				if n := starts.Load(); n != 0 {
					t.Errorf("%d spans started, want none", n)
				}
				if p := getDuration(t, tel); len(p.Exemplars) != 0 {
					t.Errorf("exemplars %+v of a call without a span", p.Exemplars)
				}
			}
			got := tel.metrics(t)
			if n := got["session.store.duration{session.audience=default,session.store.operation=get,session.store.type=session.MemoryStore}"]; n != 1 {
				t.Errorf("%d get durations, want 1:\n%s", n, dump(got))
			}
		})
	}
}

// getDuration returns the data point of session.store.duration for gets.
func getDuration(t *testing.T, tel *telemetry) metricdata.HistogramDataPoint[float64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == "session.store.duration" {
				for _, p := range h.DataPoints {
					if op, _ := p.Attributes.Value(sessionotel.StoreOperationKey); op.AsString() == "get" {
						return p
					}
				}
			}
		}
	}
	t.Fatal("no get duration")
	return metricdata.HistogramDataPoint[float64]{}
}

// newSpanManager returns a Manager on a memory store, instrumented with
// mp and tp.
func newSpanManager(t *testing.T, mp *sdkmetric.MeterProvider, tp trace.TracerProvider, opts ...sessionotel.Option) *session.Manager {
	t.Helper()
	return newInstrumented(t, session.Config{Store: newMemoryStore(t)}, mp, tp, opts...)
}

// newMemoryStore returns a memory store that stops when the test ends.
func newMemoryStore(t *testing.T) *session.MemoryStore {
	t.Helper()
	st, err := session.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	return st
}

// newInstrumented returns a Manager of cfg (with the tests' secret),
// instrumented with mp and tp.
func newInstrumented(t *testing.T, cfg session.Config, mp *sdkmetric.MeterProvider, tp trace.TracerProvider, opts ...sessionotel.Option) *session.Manager {
	t.Helper()
	cfg.Secret = "sessionotel test secret"
	opts = append([]sessionotel.Option{sessionotel.WithMeterProvider(mp), sessionotel.WithTracerProvider(tp)}, opts...)
	if err := sessionotel.Instrument(&cfg, opts...); err != nil {
		t.Fatal(err)
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// gatedStore holds its first Gets until n of them are under way, so that
// n store calls overlap.
type gatedStore struct {
	session.Store
	mu      sync.Mutex
	n       int
	arrived int
	all     chan struct{}
}

func (s *gatedStore) Get(ctx context.Context, name, key string, opts store.GetOptions) ([]byte, error) {
	s.mu.Lock()
	s.arrived++
	switch {
	case s.arrived == s.n:
		close(s.all)
	case s.arrived > s.n:
		s.mu.Unlock()
		return s.Store.Get(ctx, name, key, opts)
	}
	s.mu.Unlock()
	select {
	case <-s.all:
	case <-time.After(10 * time.Second):
		return nil, errors.New("gatedStore: the other calls never came")
	}
	return s.Store.Get(ctx, name, key, opts)
}

// TestConcurrentCalls: concurrent requests, some sampled, some not, each
// get their own store spans and durations (the calls under way are
// pooled: none may end another's span). Their first calls overlap.
func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	tel := newTelemetry()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())), sdktrace.WithSpanProcessor(tel.spans))
	const workers, opens = 8, 50
	m := newInstrumented(t, session.Config{Store: &gatedStore{Store: newMemoryStore(t), n: workers + 1, all: make(chan struct{})}}, tel.mp, tp)
	j := jar{}
	j.serve(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Open(w, r)
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	})
	sampled := make([]trace.SpanContext, workers)
	var wg sync.WaitGroup
	for i := range workers {
		ctx := context.Background()
		if i%2 == 0 {
			var request trace.Span
			ctx, request = tp.Tracer("test").Start(ctx, "request")
			sampled[i] = request.SpanContext()
		} else { // an unsampled parent
			ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: trace.TraceID{byte(i)}, SpanID: trace.SpanID{byte(i)}, Remote: true,
			}))
		}
		wg.Go(func() {
			for range opens {
				r := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://example.com/", nil)
				r.Header.Set("Cookie", j.header())
				if s, err := m.Open(httptest.NewRecorder(), r); err != nil || !s.Exists() {
					t.Errorf("Open = %v", err)
					return
				}
			}
		})
	}
	// The gate's last arrival: then every worker's first call is under way.
	j.serve(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		if s, err := m.Open(w, r); err != nil || !s.Exists() {
			t.Errorf("Open = %v", err)
		}
	})
	wg.Wait()
	children := map[trace.SpanID]int{}
	for _, s := range tel.spans.Ended() {
		if s.Name() == "session.store.get" {
			children[s.Parent().SpanID()]++
		}
	}
	want := map[trace.SpanID]int{}
	for _, sc := range sampled {
		if sc.IsValid() {
			want[sc.SpanID()] = opens
		}
	}
	if !maps.Equal(children, want) {
		t.Errorf("store spans per request %v, want %v", children, want)
	}
	got := tel.metrics(t)
	if n := got["session.store.duration{session.audience=default,session.store.operation=get,session.store.type=sessionotel_test.gatedStore}"]; n != workers*opens+1 {
		t.Errorf("%d get durations, want %d:\n%s", n, workers*opens+1, dump(got))
	}
}

// TestDroppedDuration: with session.store.duration dropped by a View, a
// store call under an unsampled request costs nothing (the hook returns
// no function to call), and one under a sampled request is still a span.
func TestDroppedDuration(t *testing.T) {
	t.Parallel()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())), sdktrace.WithSpanProcessor(spans))
	unsampledTP := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))
	drop := sdkmetric.NewView(sdkmetric.Instrument{Name: "session.store.duration"}, sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}})
	tel := &telemetry{reader: sdkmetric.NewManualReader(), spans: spans, tp: tp}
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader), sdkmetric.WithView(drop))
	cfg := session.Config{Secret: "sessionotel test secret"}
	if err := sessionotel.Instrument(&cfg, sessionotel.WithMeterProvider(tel.mp), sessionotel.WithTracerProvider(tp)); err != nil {
		t.Fatal(err)
	}
	c := session.StoreCall{Op: session.StoreGet, Store: "session.MemoryStore", Audience: "default", Cookie: session.CookieSession}
	ctx, unsampled := unsampledTP.Tracer("test").Start(context.Background(), "request")
	defer unsampled.End()
	if callCtx, done := cfg.Hooks.OnStoreCall(ctx, c); callCtx != ctx || done != nil {
		t.Errorf("a call under an unsampled request, its duration dropped: context changed %v, done %v; want neither", callCtx != ctx, done != nil)
	}
	ctx, sampled := tp.Tracer("test").Start(context.Background(), "request")
	defer sampled.End()
	_, done := cfg.Hooks.OnStoreCall(ctx, c)
	if done == nil {
		t.Fatal("a call under a sampled request returns no function to end its span")
	}
	done(session.ErrNotFound)
	if ended := spans.Ended(); len(ended) != 1 || ended[0].Name() != "session.store.get" || ended[0].Parent().SpanID() != sampled.SpanContext().SpanID() {
		t.Errorf("spans %v, want session.store.get under the request", ended)
	}
	if got := tel.metrics(t); len(got) != 0 {
		t.Errorf("metrics with the duration dropped and no event:\n%s", dump(got))
	}
}
