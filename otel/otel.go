package sessionotel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	session "github.com/sessiongo/session/core"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/sessiongo/session/otel"

// ErrInvalid is returned by Instrument for a nil Config, and wraps a
// failure to create an instrument.
var ErrInvalid = errors.New("sessionotel: cannot instrument")

// The attribute keys.
const (
	AudienceKey        = attribute.Key("session.audience")
	OutcomeKey         = attribute.Key("session.outcome")
	CookieKey          = attribute.Key("session.cookie")
	RenewedKey         = attribute.Key("session.renewed")
	RevocationScopeKey = attribute.Key("session.revocation.scope")
	StoreOperationKey  = attribute.Key("session.store.operation")
	StoreTypeKey       = attribute.Key("session.store.type")
	ErrorTypeKey       = attribute.Key("error.type")
)

// Bucket boundaries of the histograms: store calls from 100µs (a local
// store) to 2.5s (a store timing out), cookies up to nine 4096-byte chunks.
var (
	durationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
	sizeBuckets     = []float64{128, 256, 512, 1024, 2048, 4096, 8192, 16384, 36864}
)

// Instrument adds to cfg.Hooks the hooks that record the metrics and the
// store spans described in the package documentation. Hooks already in
// cfg.Hooks are kept: each is called before this package's, which runs
// even when it panics. Call it before session.New, once per Config.
//
// The counters are observable (asynchronous) counters: Instrument
// registers with the meter provider a callback that reports them at each
// collection, which lasts as long as the provider.
func Instrument(cfg *session.Config, opts ...Option) error {
	if cfg == nil {
		return fmt.Errorf("%w: nil Config", ErrInvalid)
	}
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.meterProvider == nil {
		o.meterProvider = otel.GetMeterProvider()
	}
	if o.tracerProvider == nil {
		o.tracerProvider = otel.GetTracerProvider()
	}
	r, err := newRecorder(o)
	if err != nil {
		return err
	}
	h := &cfg.Hooks
	h.OnOpen = chain(h.OnOpen, r.open)
	h.OnCreate = chain(h.OnCreate, r.create)
	h.OnRotate = chain(h.OnRotate, r.rotate)
	h.OnDestroy = chain(h.OnDestroy, r.destroy)
	h.OnLogout = chain(h.OnLogout, r.logout)
	h.OnRevoke = chain(h.OnRevoke, r.revoke)
	h.OnStoreCall = chainStoreCall(h.OnStoreCall, r.storeCall)
	return nil
}

// chain returns a hook that calls first, then second, also when first
// panics.
func chain[E any](first, second func(context.Context, E)) func(context.Context, E) {
	if first == nil {
		return second
	}
	return func(ctx context.Context, e E) {
		defer second(ctx, e)
		first(ctx, e)
	}
}

// chainStoreCall returns an OnStoreCall hook that starts ours first (the
// outer span), then the user's in its context, and ends them the other way
// round, ours even when the user's panics.
func chainStoreCall(user, ours func(context.Context, session.StoreCall) (context.Context, func(error))) func(context.Context, session.StoreCall) (context.Context, func(error)) {
	if user == nil {
		return ours
	}
	return func(ctx context.Context, c session.StoreCall) (context.Context, func(error)) {
		ctx, oursDone := ours(ctx, c)
		userCtx, userDone := user(ctx, c)
		if userCtx == nil {
			userCtx = ctx
		}
		return userCtx, func(err error) {
			defer oursDone(err)
			if userDone != nil {
				userDone(err)
			}
		}
	}
}

// instrument names one instrument of a recorder: the counters first, in
// the order of recorder.counters, then the histograms.
type instrument uint8

const (
	opens instrument = iota
	saves
	rotations
	destroys
	logouts
	revocations
	numCounters

	storeDuration = numCounters
	cookieSize    = numCounters + 1
)

// recorder holds the instruments and the attribute sets made so far.
//
// The counters are observable: an event adds one to an atomic count, which
// the callback registered with the meter reports at each collection, so
// that the events of every request (an open) cost an atomic add instead of
// a measurement through the SDK. The histograms are synchronous.
type recorder struct {
	tracer    trace.Tracer
	rootSpans bool      // WithRootSpans
	calls     sync.Pool // *call

	counters      [numCounters]metric.Int64ObservableCounter
	storeDuration metric.Float64Histogram
	cookieSize    metric.Int64Histogram

	// sets holds the measure of each instrument and attribute combination,
	// made once: the values come from a few configured names.
	sets sync.Map // attrKey -> *measure
	// opensOf holds the measures of session.opens per audience, and last
	// the audience seen last: an open, every request, costs a string
	// comparison, a switch and an atomic add.
	opensOf sync.Map // audience -> *audienceOpens
	last    atomic.Pointer[audienceOpens]
	// kinds holds what the calls of one operation on one store, audience
	// and cookie share, and lastKind, per operation, the one called last.
	kinds    sync.Map // storeKey -> *storeKind
	lastKind [len(storeOps)]atomic.Pointer[storeKind]
}

// storeOps lists the store operations, in the order of recorder.lastKind.
var storeOps = [...]session.StoreOp{
	session.StoreGet, session.StoreSet, session.StoreDelete, session.StoreSessions,
	session.StoreGroupInfo, session.StoreRevoked, session.StoreRevoke,
}

// opIndex returns the index of op in storeOps, -1 for another.
func opIndex(op session.StoreOp) int {
	switch op {
	case session.StoreGet:
		return 0
	case session.StoreSet:
		return 1
	case session.StoreDelete:
		return 2
	case session.StoreSessions:
		return 3
	case session.StoreGroupInfo:
		return 4
	case session.StoreRevoked:
		return 5
	case session.StoreRevoke:
		return 6
	}
	return -1
}

// outcomes lists the outcomes of session.Outcome, in the order of
// audienceOpens.opens.
var outcomes = [...]session.Outcome{
	session.OutcomeOpened, session.OutcomeRestored, session.OutcomeNone, session.OutcomeExpired,
	session.OutcomeInvalid, session.OutcomeNotFound, session.OutcomeRevoked, session.OutcomeError,
}

// outcomeIndex returns the index of o in outcomes, -1 for another.
func outcomeIndex(o session.Outcome) int {
	switch o {
	case session.OutcomeOpened:
		return 0
	case session.OutcomeRestored:
		return 1
	case session.OutcomeNone:
		return 2
	case session.OutcomeExpired:
		return 3
	case session.OutcomeInvalid:
		return 4
	case session.OutcomeNotFound:
		return 5
	case session.OutcomeRevoked:
		return 6
	case session.OutcomeError:
		return 7
	}
	return -1
}

// audienceOpens holds the measures of session.opens for one audience, one
// per outcome.
type audienceOpens struct {
	audience string
	opens    [len(outcomes)]*measure
}

// measure is one instrument with one attribute set: for a counter, the
// count so far and the options to observe it; for a histogram, the
// options of Record (slices of one, which cost nothing to pass).
type measure struct {
	inst    instrument
	n       atomic.Int64
	observe []metric.ObserveOption
	record  []metric.RecordOption
}

func newRecorder(o options) (*recorder, error) {
	meter := o.meterProvider.Meter(ScopeName)
	r := &recorder{tracer: o.tracerProvider.Tracer(ScopeName), rootSpans: o.rootSpans}
	r.calls.New = func() any {
		c := &call{}
		c.done = c.end
		return c
	}
	var errs []error
	counter := func(i instrument, name, unit, desc string) {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		r.counters[i] = c
		errs = append(errs, err)
	}
	counter(opens, "session.opens", "{open}", "Opens of a request's session, by outcome.")
	counter(saves, "session.saves", "{save}", "Cookies issued by saves, new or rotated.")
	counter(rotations, "session.rotations", "{rotation}", "Saves that gave an existing session a new id.")
	counter(destroys, "session.destroys", "{destroy}", "Sessions destroyed.")
	counter(logouts, "session.logouts", "{logout}", "Logouts of an audience.")
	counter(revocations, "session.revocations", "{revocation}", "Revocations of sessions by key, subject or session.")
	var err error
	r.storeDuration, err = meter.Float64Histogram("session.store.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of calls to the session store and the revocation backend."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	errs = append(errs, err)
	r.cookieSize, err = meter.Int64Histogram("session.cookie.size", metric.WithUnit("By"),
		metric.WithDescription("Size of the cookies issued, as the browser sends them back (name=value of every chunk)."),
		metric.WithExplicitBucketBoundaries(sizeBuckets...))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	observables := make([]metric.Observable, len(r.counters))
	for i, c := range r.counters {
		observables[i] = c
	}
	if _, err := meter.RegisterCallback(r.observe, observables...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return r, nil
}

// observe reports the counts, at a collection: only those of attribute
// sets counted at least once, as a synchronous counter would.
func (r *recorder) observe(_ context.Context, o metric.Observer) error {
	r.sets.Range(func(_, v any) bool {
		m := v.(*measure)
		if m.inst < numCounters {
			if n := m.n.Load(); n > 0 {
				o.ObserveInt64(r.counters[m.inst], n, m.observe...)
			}
		}
		return true
	})
	return nil
}

// attrKey is one instrument and one combination of attribute values; an
// empty value leaves its attribute out.
type attrKey struct {
	inst     instrument
	audience string
	k1       attribute.Key
	v1       string
	k2       attribute.Key
	v2       string
	k3       attribute.Key
	v3       string
}

// attrs returns the measure of k, made once.
func (r *recorder) attrs(k attrKey) *measure {
	if v, ok := r.sets.Load(k); ok {
		return v.(*measure)
	}
	kv := make([]attribute.KeyValue, 0, 4)
	kv = append(kv, AudienceKey.String(k.audience))
	for _, p := range [...]struct {
		k attribute.Key
		v string
	}{{k.k1, k.v1}, {k.k2, k.v2}, {k.k3, k.v3}} {
		if p.k != "" && p.v != "" {
			kv = append(kv, p.k.String(p.v))
		}
	}
	opt := metric.WithAttributeSet(attribute.NewSet(kv...))
	v, _ := r.sets.LoadOrStore(k, &measure{inst: k.inst, observe: []metric.ObserveOption{opt}, record: []metric.RecordOption{opt}})
	return v.(*measure)
}

func (r *recorder) open(_ context.Context, e session.OpenEvent) {
	a := r.last.Load()
	if a == nil || a.audience != e.Audience {
		a = r.audienceOpens(e.Audience)
		r.last.Store(a)
	}
	if i := outcomeIndex(e.Outcome); i >= 0 {
		a.opens[i].n.Add(1)
		return
	}
	r.attrs(attrKey{inst: opens, audience: e.Audience, k1: OutcomeKey, v1: string(e.Outcome)}).n.Add(1)
}

// audienceOpens returns the measures of session.opens for audience, made
// once.
func (r *recorder) audienceOpens(audience string) *audienceOpens {
	if v, ok := r.opensOf.Load(audience); ok {
		return v.(*audienceOpens)
	}
	a := &audienceOpens{audience: audience}
	for i, o := range outcomes {
		a.opens[i] = r.attrs(attrKey{inst: opens, audience: audience, k1: OutcomeKey, v1: string(o)})
	}
	v, _ := r.opensOf.LoadOrStore(audience, a)
	return v.(*audienceOpens)
}

func (r *recorder) create(ctx context.Context, e session.Event) {
	r.attrs(attrKey{inst: saves, audience: e.Audience, k1: CookieKey, v1: string(e.Cookie)}).n.Add(1)
	r.cookieSize.Record(ctx, int64(e.Size), r.attrs(attrKey{inst: cookieSize, audience: e.Audience, k1: CookieKey, v1: string(e.Cookie)}).record...)
}

func (r *recorder) rotate(ctx context.Context, e session.Event) {
	r.create(ctx, e)
	renewed := "false"
	if e.Renewed {
		renewed = "true"
	}
	r.attrs(attrKey{inst: rotations, audience: e.Audience, k1: CookieKey, v1: string(e.Cookie), k2: RenewedKey, v2: renewed}).n.Add(1)
}

func (r *recorder) destroy(_ context.Context, e session.Event) {
	r.attrs(attrKey{inst: destroys, audience: e.Audience}).n.Add(1)
}

func (r *recorder) logout(_ context.Context, e session.Event) {
	r.attrs(attrKey{inst: logouts, audience: e.Audience}).n.Add(1)
}

func (r *recorder) revoke(_ context.Context, e session.RevokeEvent) {
	r.attrs(attrKey{inst: revocations, audience: e.Audience, k1: RevocationScopeKey, v1: string(e.Scope)}).n.Add(1)
}

// spanStart is the options of every store span.
var spanStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}

// epoch is the origin of the times of store calls: time.Since(epoch) reads
// only the monotonic clock, where time.Now reads the wall clock too.
var epoch = time.Now()

// storeKey is what a store call's StoreCall says.
type storeKey struct {
	op       session.StoreOp
	store    string
	audience string
	cookie   session.CookieKind
}

// storeKind is what every call of one operation on one store, audience
// and cookie shares: made once, so that a call builds no name, attribute
// or option.
type storeKind struct {
	storeKey
	r         *recorder
	spanName  string
	spanAttrs []attribute.KeyValue
	ok        *measure // session.store.duration of a call that succeeded
	notFound  *measure // and of one that found no record
}

// kind returns the storeKind of c, made once.
func (r *recorder) kind(c session.StoreCall) *storeKind {
	key := storeKey{op: c.Op, store: c.Store, audience: c.Audience, cookie: c.Cookie}
	i := opIndex(c.Op)
	if i >= 0 {
		if k := r.lastKind[i].Load(); k != nil && k.storeKey == key {
			return k
		}
	}
	var k *storeKind
	if v, ok := r.kinds.Load(key); ok {
		k = v.(*storeKind)
	} else {
		k = r.newKind(key)
		v, _ := r.kinds.LoadOrStore(key, k)
		k = v.(*storeKind)
	}
	if i >= 0 {
		r.lastKind[i].Store(k)
	}
	return k
}

func (r *recorder) newKind(key storeKey) *storeKind {
	k := &storeKind{storeKey: key, r: r, spanName: "session.store." + string(key.op)}
	k.spanAttrs = []attribute.KeyValue{
		StoreOperationKey.String(string(key.op)),
		StoreTypeKey.String(key.store),
		AudienceKey.String(key.audience),
	}
	if key.cookie != "" { // a revocation call has none
		k.spanAttrs = append(k.spanAttrs, CookieKey.String(string(key.cookie)))
	}
	k.ok = r.durationOf(key, "")
	k.notFound = r.durationOf(key, notFound)
	return k
}

// durationOf returns the measure of session.store.duration for a call
// like key that ended with error.type errType ("" for none).
func (r *recorder) durationOf(key storeKey, errType string) *measure {
	return r.attrs(attrKey{
		inst:     storeDuration,
		audience: key.audience,
		k1:       StoreOperationKey, v1: string(key.op),
		k2: StoreTypeKey, v2: key.store,
		k3: ErrorTypeKey, v3: errType,
	})
}

// call is one store call under way. Calls are pooled, and each holds its
// end as a func value made once, so that a store call allocates nothing of
// this package's.
type call struct {
	k        *storeKind
	measured bool            // session.store.duration records (not dropped by a View)
	ctx      context.Context // the span's, for the histogram's exemplars; nil: not traced
	span     trace.Span      // nil: the call is not traced
	times    spanTimes       // the span's times; nil: the call reads the clock
	start    time.Duration   // since epoch, when times is nil
	done     func(error)     // c.end
}

// spanTimes is what a span of the SDK tells of its times
// (sdktrace.ReadOnlySpan). A store call whose span records them takes its
// duration from them, the span's own, and reads no clock itself: the SDK
// reads it at the span's start and end anyway, and two more reads would
// cost as much as a tenth of the span.
type spanTimes interface {
	StartTime() time.Time
	EndTime() time.Time
}

// storeCall starts a store call: a span when traced says so, and the
// clock. It returns what ends it, which core calls once, or nil when the
// call is neither traced nor measured (a View dropped
// session.store.duration).
func (r *recorder) storeCall(ctx context.Context, c session.StoreCall) (context.Context, func(error)) {
	traced, measured := r.traced(ctx), r.storeDuration.Enabled(ctx)
	if !traced && !measured {
		return ctx, nil
	}
	cl := r.calls.Get().(*call)
	cl.k, cl.measured = r.kind(c), measured
	if traced {
		ctx, cl.span = r.tracer.Start(ctx, cl.k.spanName, spanStart...)
		if cl.span.IsRecording() {
			cl.span.SetAttributes(cl.k.spanAttrs...)
			cl.times, _ = cl.span.(spanTimes)
		}
		cl.ctx = ctx
	}
	if cl.times == nil && measured {
		cl.start = time.Since(epoch)
	}
	return ctx, cl.done
}

// traced reports whether a store call in ctx is a span: when ctx carries a
// span that records, or a sampled one (a remote parent), and, with
// WithRootSpans, when it carries none. A call under a span that neither
// records nor is sampled starts none, and costs no call to the SDK: under
// the default sampler (parent-based) its span would not record either.
func (r *recorder) traced(ctx context.Context) bool {
	parent := trace.SpanFromContext(ctx)
	if parent.IsRecording() {
		return true
	}
	sc := parent.SpanContext()
	return sc.IsSampled() || (r.rootSpans && !sc.IsValid())
}

// end ends the call, which returned err: its span, then its duration. It
// puts the call back in the pool.
func (cl *call) end(err error) {
	var now time.Duration
	if cl.times == nil && cl.measured {
		now = time.Since(epoch)
	}
	k, measured, ctx, span, times, start := cl.k, cl.measured, cl.ctx, cl.span, cl.times, cl.start
	cl.k, cl.ctx, cl.span, cl.times = nil, nil, nil, nil
	k.r.calls.Put(cl)

	errType := ""
	if err != nil {
		errType = errorType(err)
	}
	if span != nil {
		if errType != "" {
			span.SetAttributes(ErrorTypeKey.String(errType))
			if errType != notFound {
				span.SetStatus(codes.Error, "session store call failed: "+errType)
			}
		}
		span.End()
	}
	if !measured {
		return
	}
	m := k.ok
	switch errType {
	case "":
	case notFound:
		m = k.notFound
	default:
		m = k.r.durationOf(k.storeKey, errType)
	}
	var elapsed time.Duration
	if times != nil {
		elapsed = times.EndTime().Sub(times.StartTime())
	} else {
		elapsed = now - start
	}
	if ctx == nil {
		// Not traced: the request's span, if any, is neither recording
		// nor sampled, so an exemplar could not lead to a trace, and the
		// SDK need not look for it in the request's context.
		ctx = context.Background()
	}
	k.r.storeDuration.Record(ctx, elapsed.Seconds(), m.record...)
}

const notFound = "not_found"

// errorType is the error.type of a store call's error: "" for none,
// not_found for a missing record, deadline_exceeded, canceled, or the
// error's Go type (never its text).
func errorType(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, session.ErrNotFound):
		return notFound
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", err), "*")
}
