// Package sessionotel records OpenTelemetry metrics and traces for the
// sessions of a sessiongo Manager, through the Manager's lifecycle hooks
// (session.Hooks). It is a module of its own, so that the session package
// stays free of dependencies:
//
//	import sessionotel "github.com/sessiongo/session/otel"
//
// Install it on the Config before session.New:
//
//	cfg := session.Config{Secret: os.Getenv("SESSION_SECRET"), Store: st}
//	if err := sessionotel.Instrument(&cfg); err != nil {
//		log.Fatal(err)
//	}
//	m, err := session.New(cfg)
//
// The meter and tracer providers are the global ones (otel.SetMeterProvider,
// otel.SetTracerProvider) unless WithMeterProvider and WithTracerProvider
// give others.
//
// # Metrics
//
// Every instrument has the attribute session.audience (the audience of the
// session, Config.Audience unless SetAudience changed it):
//
//   - session.opens ({open}): every Open of a request, with
//     session.outcome: opened, restored (from the remember cookie), none
//     (no cookie), expired, invalid (tampered, truncated, foreign), not_found
//     (the session is gone), revoked, error (the store failed).
//   - session.saves ({save}): every cookie a save issued, new or rotated,
//     with session.cookie (session or remember).
//   - session.rotations ({rotation}): the saves that gave an existing
//     session a new id (every Save, a Refresh that saves, Renew), with
//     session.cookie and session.renewed (true for Renew).
//   - session.destroys ({destroy}) and session.logouts ({logout}): Destroy,
//     and Logout of an audience.
//   - session.revocations ({revocation}): Manager.Revoke, RevokeSessions and
//     RevokeSession, with session.revocation.scope (key, subject, session).
//   - session.store.duration (s, histogram): every call to the store and
//     to the revocation backend, with session.store.operation (get, set,
//     delete, sessions, group_info, revoked, revoke), session.store.type
//     (the store's Go type, such as redisstore.Store) and, when the call
//     failed, error.type (not_found for a missing record, which is how a
//     store says that a session ended; deadline_exceeded, canceled, or the
//     error's Go type).
//   - session.cookie.size (By, histogram): the bytes of each cookie issued,
//     as the browser sends them back (name=value of every chunk), with
//     session.cookie.
//
// The counters are observable counters, which a callback reports at each
// collection: an event costs an atomic add. They carry no exemplars; the
// histograms, synchronous, carry the SDK's.
//
// # Traces
//
// A store call made under a span that records, such as the request's span
// that a tracing middleware (otelhttp) started, is a span,
// session.store.<operation> (internal, a child of that span; a store's own
// instrumentation, such as a Redis client's, nests under it), with the
// attributes of session.store.duration and session.cookie. A failure other
// than a missing record sets the span's status to Error, with error.type
// but not the error's text, which may name files or hosts. Its duration in
// session.store.duration is the span's, and the histogram's exemplar names
// it.
//
// So is a store call under a sampled remote parent (a trace context that a
// propagator extracted, with no local span). A store call under a span
// that does not record (the sampler dropped the request) starts no span
// and makes no call to the tracer: under the default parent-based sampler,
// its span would not record either. A store call with no span in its
// context, as a background job makes, is measured but not traced, unless
// WithRootSpans makes it a root span, a trace of its own.
//
// Nothing recorded holds a session id, a storage key or a subject.
package sessionotel
