package sessionotel

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// recorder holds the instruments and the attribute sets made so far.
type recorder struct {
	tracer trace.Tracer

	opens, saves, rotations, destroys, logouts, revocations metric.Int64Counter
	storeDuration                                           metric.Float64Histogram
	cookieSize                                              metric.Int64Histogram

	// sets caches the measurement options of each attribute combination,
	// so that a measurement allocates nothing once its combination was
	// seen: the values come from a few configured names.
	sets sync.Map // attrKey -> *measure
	// opensOf caches the options of session.opens per audience, and last
	// the audience seen last: an open, every request, costs a string
	// comparison and an index.
	opensOf sync.Map // audience -> *audienceOpens
	last    atomic.Pointer[audienceOpens]
	// storeOK holds, per operation, the options of session.store.duration
	// for a call that succeeded, on the store and audience called last.
	storeOK [len(storeOps)]atomic.Pointer[storeMeasure]
}

// storeOps lists the store operations, in the order of recorder.storeOK.
var storeOps = [...]session.StoreOp{
	session.StoreGet, session.StoreSet, session.StoreDelete,
	session.StoreSessions, session.StoreRevoked, session.StoreRevoke,
}

// storeMeasure is the options of a successful call of one operation on
// one store and audience.
type storeMeasure struct {
	store, audience string
	ok              *measure
}

// outcomes lists the outcomes of session.Outcome, in the order of
// audienceOpens.opts.
var outcomes = [...]session.Outcome{
	session.OutcomeOpened, session.OutcomeRestored, session.OutcomeNone, session.OutcomeExpired,
	session.OutcomeInvalid, session.OutcomeNotFound, session.OutcomeRevoked, session.OutcomeError,
}

// audienceOpens holds the measurement options of session.opens for one
// audience, one per outcome.
type audienceOpens struct {
	audience string
	opts     [len(outcomes)]*measure
}

// measure holds the options of one attribute set, as the variadic
// arguments of Add and Record (slices of one, which cost nothing to pass).
type measure struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

func newRecorder(o options) (*recorder, error) {
	meter := o.meterProvider.Meter(ScopeName)
	r := &recorder{tracer: o.tracerProvider.Tracer(ScopeName)}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	r.opens = counter("session.opens", "{open}", "Opens of a request's session, by outcome.")
	r.saves = counter("session.saves", "{save}", "Cookies issued by saves, new or rotated.")
	r.rotations = counter("session.rotations", "{rotation}", "Saves that gave an existing session a new id.")
	r.destroys = counter("session.destroys", "{destroy}", "Sessions destroyed.")
	r.logouts = counter("session.logouts", "{logout}", "Logouts of an audience.")
	r.revocations = counter("session.revocations", "{revocation}", "Revocations of sessions by key, subject or session.")
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
	return r, nil
}

// attrKey is one combination of attribute values; an empty value leaves
// its attribute out.
type attrKey struct {
	audience string
	k1       attribute.Key
	v1       string
	k2       attribute.Key
	v2       string
	k3       attribute.Key
	v3       string
}

// attrs returns the options of k, made once.
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
	v, _ := r.sets.LoadOrStore(k, &measure{add: []metric.AddOption{opt}, record: []metric.RecordOption{opt}})
	return v.(*measure)
}

func (r *recorder) open(ctx context.Context, e session.OpenEvent) {
	a := r.last.Load()
	if a == nil || a.audience != e.Audience {
		a = r.audienceOpens(e.Audience)
		r.last.Store(a)
	}
	for i, o := range outcomes {
		if o == e.Outcome {
			r.opens.Add(ctx, 1, a.opts[i].add...)
			return
		}
	}
	r.opens.Add(ctx, 1, r.attrs(attrKey{audience: e.Audience, k1: OutcomeKey, v1: string(e.Outcome)}).add...)
}

// audienceOpens returns the options of session.opens for audience, made
// once.
func (r *recorder) audienceOpens(audience string) *audienceOpens {
	if v, ok := r.opensOf.Load(audience); ok {
		return v.(*audienceOpens)
	}
	a := &audienceOpens{audience: audience}
	for i, o := range outcomes {
		a.opts[i] = r.attrs(attrKey{audience: audience, k1: OutcomeKey, v1: string(o)})
	}
	v, _ := r.opensOf.LoadOrStore(audience, a)
	return v.(*audienceOpens)
}

func (r *recorder) create(ctx context.Context, e session.Event) {
	m := r.attrs(attrKey{audience: e.Audience, k1: CookieKey, v1: string(e.Cookie)})
	r.saves.Add(ctx, 1, m.add...)
	r.cookieSize.Record(ctx, int64(e.Size), m.record...)
}

func (r *recorder) rotate(ctx context.Context, e session.Event) {
	r.create(ctx, e)
	renewed := "false"
	if e.Renewed {
		renewed = "true"
	}
	r.rotations.Add(ctx, 1, r.attrs(attrKey{audience: e.Audience, k1: CookieKey, v1: string(e.Cookie), k2: RenewedKey, v2: renewed}).add...)
}

func (r *recorder) destroy(ctx context.Context, e session.Event) {
	r.destroys.Add(ctx, 1, r.attrs(attrKey{audience: e.Audience}).add...)
}

func (r *recorder) logout(ctx context.Context, e session.Event) {
	r.logouts.Add(ctx, 1, r.attrs(attrKey{audience: e.Audience}).add...)
}

func (r *recorder) revoke(ctx context.Context, e session.RevokeEvent) {
	r.revocations.Add(ctx, 1, r.attrs(attrKey{audience: e.Audience, k1: RevocationScopeKey, v1: string(e.Scope)}).add...)
}

// spanNames are the span names of the store operations, made once.
var spanNames = map[session.StoreOp]string{}

func init() {
	for _, op := range []session.StoreOp{session.StoreGet, session.StoreSet, session.StoreDelete, session.StoreSessions, session.StoreRevoked, session.StoreRevoke} {
		spanNames[op] = "session.store." + string(op)
	}
}

func spanName(op session.StoreOp) string {
	if name, ok := spanNames[op]; ok {
		return name
	}
	return "session.store." + string(op)
}

// spanStart is the options of every store span.
var spanStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}

func (r *recorder) storeCall(ctx context.Context, c session.StoreCall) (context.Context, func(error)) {
	start := time.Now()
	ctx, span := r.tracer.Start(ctx, spanName(c.Op), spanStart...)
	if span.IsRecording() {
		attrs := [...]attribute.KeyValue{
			StoreOperationKey.String(string(c.Op)),
			StoreTypeKey.String(c.Store),
			AudienceKey.String(c.Audience),
			CookieKey.String(string(c.Cookie)),
		}
		n := len(attrs)
		if c.Cookie == "" {
			n-- // a revocation call: no cookie
		}
		span.SetAttributes(attrs[:n]...)
	}
	return ctx, func(err error) {
		elapsed := time.Since(start).Seconds()
		errType := errorType(err)
		if errType == "" {
			r.storeDuration.Record(ctx, elapsed, r.storeSucceeded(c).record...)
		} else {
			r.storeDuration.Record(ctx, elapsed, r.attrs(attrKey{
				audience: c.Audience,
				k1:       StoreOperationKey, v1: string(c.Op),
				k2: StoreTypeKey, v2: c.Store,
				k3: ErrorTypeKey, v3: errType,
			}).record...)
			span.SetAttributes(ErrorTypeKey.String(errType))
			if errType != notFound {
				span.SetStatus(codes.Error, "session store call failed: "+errType)
			}
		}
		span.End()
	}
}

// storeSucceeded returns the options of session.store.duration for a call
// like c that succeeded.
func (r *recorder) storeSucceeded(c session.StoreCall) *measure {
	i := slices.Index(storeOps[:], c.Op)
	if i >= 0 {
		if p := r.storeOK[i].Load(); p != nil && p.store == c.Store && p.audience == c.Audience {
			return p.ok
		}
	}
	m := r.attrs(attrKey{
		audience: c.Audience,
		k1:       StoreOperationKey, v1: string(c.Op),
		k2: StoreTypeKey, v2: c.Store,
	})
	if i >= 0 {
		r.storeOK[i].Store(&storeMeasure{store: c.Store, audience: c.Audience, ok: m})
	}
	return m
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
