package bench

import (
	"net/http"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// BenchmarkHTTPRoutes serves the HTTP table's routes in process (no
// sockets, no client): the server's own work per request, which the HTTP
// table's share depends on.
//
//	go test -run '^$' -bench HTTPRoutes -benchmem ./internal/bench
func BenchmarkHTTPRoutes(b *testing.B) {
	m, err := exampleManager()
	if err != nil {
		b.Fatal(err)
	}
	bare, withSession := httpHandlers(m)
	cookie, err := login(withSession)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, path string
		h          http.Handler
	}{
		{"bare", "/value", bare},
		{"value", "/value", withSession},
		{"typed", "/", withSession},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := newClient(bc.h)
			c.base.URL.Path = bc.path
			c.setCookie(cookie)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.do(false); err != nil {
					b.Fatal(err)
				}
			}
			if n := len(c.w.h["Set-Cookie"]); n != 0 {
				b.Fatalf("a read sent %d Set-Cookie lines", n)
			}
		})
	}
}

// TestHTTPStat: the medians, the share's range, the CPU share and the
// table's rows.
func TestHTTPStat(t *testing.T) {
	turn := func(rate float64, p50 time.Duration, cpu time.Duration) httpTurn {
		m := &vegeta.Metrics{Throughput: rate, Requests: 100}
		m.Latencies.P50, m.Latencies.P99 = p50, 10*p50
		return httpTurn{m: m, cpu: cpu}
	}
	bare := httpStat("bare handler", []httpTurn{turn(1000, 100*time.Microsecond, 40*time.Microsecond), turn(1200, 120*time.Microsecond, 50*time.Microsecond), turn(1100, 110*time.Microsecond, 60*time.Microsecond)}, nil, nil)
	if bare.Rate != 1100 || bare.P50 != 110*time.Microsecond || bare.CPU != 50*time.Microsecond || bare.Requests != 300 {
		t.Fatalf("bare %+v", bare)
	}
	value := httpStat("value", []httpTurn{turn(900, 130*time.Microsecond, 55*time.Microsecond)}, []float64{0.9, 0.8, 0.95}, []float64{0.92})
	if value.Share != 0.9 || value.ShareMin != 0.8 || value.ShareMax != 0.95 || value.CPUShare != 0.92 {
		t.Fatalf("value %+v", value)
	}
	// A route left out (-http-routes) has no turns: a zero row, not a panic.
	typed := httpStat("typed", nil, nil, nil)
	if typed.Requests != 0 || typed.Rate != 0 {
		t.Fatalf("a route not measured: %+v", typed)
	}
	bare.Share, bare.ShareMin, bare.ShareMax, bare.CPUShare = 1, 1, 1, 1
	var b strings.Builder
	(&HTTPResults{Bare: bare, Value: value, Typed: typed, Rounds: 3, Workers: 8, Duration: time.Second}).WriteMarkdown(&b)
	for _, want := range []string{
		"| bare handler | 1100 | 110µs | 1.1ms | 100% | 50µs | 100% |",
		"| value | 900 | 130µs | 1.3ms | 90% (80–95%) | 55µs | 92% |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "| typed |") {
		t.Errorf("table has a row for a route not measured:\n%s", b.String())
	}
}
