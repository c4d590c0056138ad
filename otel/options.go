package sessionotel

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures Instrument.
type Option func(*options)

type options struct {
	meterProvider  metric.MeterProvider
	tracerProvider trace.TracerProvider
	rootSpans      bool
}

// WithMeterProvider records the metrics with mp instead of the global
// meter provider (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.meterProvider = mp }
}

// WithTracerProvider records the store spans with tp instead of the global
// tracer provider (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracerProvider = tp }
}

// WithRootSpans also traces the store calls made with no span in their
// context, such as those of a background job calling Manager.Devices or
// Manager.RevokeSessions with context.Background(): each is then a root
// span, a trace of its own, which the tracer provider's sampler keeps or
// drops. Without it, a store call is a span only under a span that records
// or is sampled (the request's, usually), and the calls of a job that
// starts no span of its own are only measured (session.store.duration).
func WithRootSpans() Option {
	return func(o *options) { o.rootSpans = true }
}
