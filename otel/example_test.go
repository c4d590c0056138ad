package sessionotel_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	session "github.com/sessiongo/session/core"
	sessionotel "github.com/sessiongo/session/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Instrument a Config before session.New. Here the metrics go to a manual
// reader, which the example reads after two requests: one without a
// cookie, one with the cookie the first was given.
func ExampleInstrument() {
	reader := sdkmetric.NewManualReader()
	cfg := session.Config{Secret: "an example secret, 16 bytes or more"}
	err := sessionotel.Instrument(&cfg,
		sessionotel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(cfg)
	if err != nil {
		log.Fatal(err)
	}

	handler := func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Start(w, r)
		if err != nil {
			http.Error(w, "store down", http.StatusInternalServerError)
			return
		}
		if !s.Exists() {
			s.Set("user", "alice")
			if err := s.Save(); err != nil {
				log.Fatal(err)
			}
		}
	}
	first := httptest.NewRecorder()
	handler(first, httptest.NewRequest("GET", "/", nil))
	second := httptest.NewRequest("GET", "/", nil)
	second.AddCookie(first.Result().Cookies()[0])
	handler(httptest.NewRecorder(), second)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "session.opens" {
			for _, p := range sum.DataPoints {
				outcome, _ := p.Attributes.Value(sessionotel.OutcomeKey)
				fmt.Printf("%s{outcome=%s} %d\n", m.Name, outcome.AsString(), p.Value)
			}
		}
	}
	// Unordered output:
	// session.opens{outcome=none} 1
	// session.opens{outcome=opened} 1
}
