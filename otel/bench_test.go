package sessionotel_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	sessionotel "github.com/sessiongo/session/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The set-ups of the benchmarks: bare (no hooks), hooks (every hook set,
// doing nothing), and Instrument with the SDK's meter provider (read by a
// manual reader) and the SDK's tracer provider (its spans ended and
// dropped by a processor), the request carrying the span a tracing
// middleware (otelhttp) would have started with that provider: otel-sampled
// (the default sampler, parent-based, which samples every root: the
// request's span records, and so does the store call's) and otel-unsampled
// (a parent-based sampler dropping every root, as a ratio-based one drops
// most: the request's span does not record, and the store call starts
// none, measured only), and otel-counters (otel-unsampled with a View
// dropping session.store.duration: the store call is not even measured).
var setups = []string{"bare", "hooks", "otel-unsampled", "otel-sampled", "otel-counters"}

// BenchmarkOpenRead opens a request's session and reads a value, as core's
// BenchmarkOpenRead does, in each set-up. With cookie storage an open makes
// no store call; with the memory store it makes one Get, which is a span and
// a histogram record with otel.
func BenchmarkOpenRead(b *testing.B) {
	for _, storage := range []string{"cookie", "memory"} {
		for _, setup := range setups {
			b.Run(storage+"/"+setup, func(b *testing.B) {
				m, ctx := newBenchManager(b, storage, setup)
				r := benchRequest(b, m, ctx)
				w := &discardWriter{h: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					s, err := m.Open(w, r)
					if err != nil || !s.Exists() || s.Get("user") != "alice" {
						b.Fatal("open:", err)
					}
				}
			})
		}
	}
}

// BenchmarkOverhead measures the ratios of the set-ups to bare on a busy
// machine: each iteration opens and reads once in each set-up, in turns,
// timing each call, so that load that comes and goes weighs on all alike.
// It reports the median time of each set-up (a median ignores the calls a
// preemption stretched) and its ratio to bare.
func BenchmarkOverhead(b *testing.B) {
	for _, storage := range []string{"cookie", "memory"} {
		b.Run(storage, func(b *testing.B) {
			n := len(setups)
			ms := make([]*session.Manager, n)
			rs := make([]*http.Request, n)
			for i, setup := range setups {
				var ctx context.Context
				ms[i], ctx = newBenchManager(b, storage, setup)
				rs[i] = benchRequest(b, ms[i], ctx)
			}
			w := &discardWriter{h: http.Header{}}
			const keep = 1 << 15 // samples kept per set-up, the latest
			samples := make([][]time.Duration, n)
			for i := range samples {
				samples[i] = make([]time.Duration, keep)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				for k := range n {
					j := (i + k) % n
					start := time.Now()
					s, err := ms[j].Open(w, rs[j])
					if err != nil || !s.Exists() || s.Get("user") != "alice" {
						b.Fatal("open:", err)
					}
					samples[j][i%keep] = time.Since(start)
				}
				i++
			}
			// What timing an empty call costs is taken off every median.
			clockCost := make([]time.Duration, 4096)
			for k := range clockCost {
				start := time.Now()
				clockCost[k] = time.Since(start)
			}
			slices.Sort(clockCost)
			timing := float64(clockCost[len(clockCost)/2])
			med := make([]float64, n)
			for j := range samples {
				kept := samples[j][:min(i, keep)]
				slices.Sort(kept)
				med[j] = float64(kept[len(kept)/2]) - timing
			}
			b.ReportMetric(med[0], "bare-ns/op")
			for j := 1; j < n; j++ {
				b.ReportMetric(med[j]/med[0], setups[j]+"/bare")
			}
		})
	}
}

// newBenchManager returns a Manager on cookie or memory storage in one of
// the set-ups, and the context of its requests.
func newBenchManager(b *testing.B, storage, setup string) (*session.Manager, context.Context) {
	cfg := session.Config{Secret: "benchmark secret, long enough"}
	if storage == "memory" {
		st, err := session.NewMemoryStore()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(st.Stop)
		cfg.Store = st
	}
	ctx := context.Background()
	switch setup {
	case "hooks":
		cfg.Hooks = noopHooks()
	case "otel-sampled", "otel-unsampled", "otel-counters":
		sampler := sdktrace.ParentBased(sdktrace.AlwaysSample())
		if setup != "otel-sampled" {
			sampler = sdktrace.ParentBased(sdktrace.NeverSample())
		}
		mopts := []sdkmetric.Option{sdkmetric.WithReader(sdkmetric.NewManualReader())}
		if setup == "otel-counters" {
			mopts = append(mopts, sdkmetric.WithView(sdkmetric.NewView(
				sdkmetric.Instrument{Name: "session.store.duration"},
				sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}})))
		}
		mp := sdkmetric.NewMeterProvider(mopts...)
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(discardSpans{}))
		if err := sessionotel.Instrument(&cfg, sessionotel.WithMeterProvider(mp), sessionotel.WithTracerProvider(tp)); err != nil {
			b.Fatal(err)
		}
		var request trace.Span
		ctx, request = tp.Tracer("middleware").Start(ctx, "GET /")
		if request.IsRecording() != (setup == "otel-sampled") {
			b.Fatalf("%s: the request's span records: %v", setup, request.IsRecording())
		}
		b.Cleanup(func() { request.End() })
	}
	m, err := session.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return m, ctx
}

func noopHooks() session.Hooks {
	return session.Hooks{
		OnOpen:       func(context.Context, session.OpenEvent) {},
		OnReject:     func(context.Context, session.RejectEvent) {},
		OnCreate:     func(context.Context, session.Event) {},
		OnRotate:     func(context.Context, session.Event) {},
		OnDestroy:    func(context.Context, session.Event) {},
		OnLogout:     func(context.Context, session.Event) {},
		OnRevoke:     func(context.Context, session.RevokeEvent) {},
		OnStoreError: func(context.Context, session.StoreEvent) {},
		OnStoreCall: func(ctx context.Context, _ session.StoreCall) (context.Context, func(error)) {
			return ctx, nil
		},
	}
}

// discardSpans ends spans without exporting them.
type discardSpans struct{}

func (discardSpans) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discardSpans) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discardSpans) Shutdown(context.Context) error                  { return nil }
func (discardSpans) ForceFlush(context.Context) error                { return nil }

// discardWriter is a ResponseWriter whose header is reused.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// benchRequest returns a request with ctx carrying a session of m with
// user set.
func benchRequest(b *testing.B, m *session.Manager, ctx context.Context) *http.Request {
	w := &discardWriter{h: http.Header{}}
	r, _ := http.NewRequestWithContext(ctx, "GET", "http://example.com/", nil)
	s, _ := m.Open(w, r)
	s.Set("user", "alice")
	if err := s.Save(); err != nil {
		b.Fatal(err)
	}
	pair, _, _ := strings.Cut(w.h.Get("Set-Cookie"), ";")
	r.Header.Set("Cookie", pair)
	return r
}

// BenchmarkStoreCall measures what Instrument's OnStoreCall costs one
// store call, alone: the hook and the function it returns, in the
// set-ups' request contexts (no store is called).
func BenchmarkStoreCall(b *testing.B) {
	for _, setup := range []string{"otel-unsampled", "otel-sampled"} {
		b.Run(setup, func(b *testing.B) {
			cfg := session.Config{}
			sampler := sdktrace.ParentBased(sdktrace.AlwaysSample())
			if setup == "otel-unsampled" {
				sampler = sdktrace.ParentBased(sdktrace.NeverSample())
			}
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(discardSpans{}))
			if err := sessionotel.Instrument(&cfg, sessionotel.WithMeterProvider(mp), sessionotel.WithTracerProvider(tp)); err != nil {
				b.Fatal(err)
			}
			ctx, request := tp.Tracer("middleware").Start(context.Background(), "GET /")
			defer request.End()
			c := session.StoreCall{Op: session.StoreGet, Store: "session.MemoryStore", Audience: "default", Cookie: session.CookieSession}
			h := cfg.Hooks.OnStoreCall
			b.ReportAllocs()
			for b.Loop() {
				_, done := h(ctx, c)
				done(nil)
			}
		})
	}
}
