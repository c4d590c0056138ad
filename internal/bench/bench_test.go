package bench

import (
	"os"
	"strings"
	"testing"
)

// BenchmarkCells runs every cell of the table as a Go benchmark, next to
// the floor of its work:
//
//	go test -run '^$' -bench . -benchtime 200ms ./internal/bench
//
// Compare them by ratio (benchstat, or by eye): the table of cmd/benchtable
// does the interleaving and the medians.
func BenchmarkCells(b *testing.B) {
	e := newEnv(ServersFromEnv())
	b.Cleanup(e.close)
	for _, w := range Works {
		b.Run(w.String(), func(b *testing.B) {
			b.Run(floorName, func(b *testing.B) {
				op, err := floorOp(w)
				if err != nil {
					b.Fatal(err)
				}
				runCell(b, op)
			})
			for _, l := range Libraries {
				b.Run(strings.ReplaceAll(l.Name, " ", "_"), func(b *testing.B) {
					if why := e.available(l); why != "" {
						skip(b, why)
					}
					op, cleanup, err := e.cell(l, w)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(cleanup)
					runCell(b, op)
				})
			}
		})
	}
}

func runCell(b *testing.B, op func() error) {
	b.ReportAllocs()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
}

// skip skips for a missing server, unless SESSIONGO_REQUIRE_SERVICES=1.
func skip(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("SESSIONGO_REQUIRE_SERVICES") == "1" {
		tb.Fatal(why)
	}
	tb.Skip(why)
}
