package bench

import (
	"runtime"
	"time"
)

// sample is one measurement of an op.
type sample struct {
	ns, allocs, bytes float64 // per op
}

// measure runs op until a run of n ops takes at least d, as testing's
// benchmarks do, and returns the time and allocations per op of that run.
// The first error of op ends it.
func measure(op func() error, d time.Duration) (sample, error) {
	if err := op(); err != nil { // warm up
		return sample{}, err
	}
	n := 1
	for {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		for range n {
			if err := op(); err != nil {
				return sample{}, err
			}
		}
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		if elapsed >= d || n >= 1e9 {
			return sample{
				ns:     float64(elapsed.Nanoseconds()) / float64(n),
				allocs: float64(after.Mallocs-before.Mallocs) / float64(n),
				bytes:  float64(after.TotalAlloc-before.TotalAlloc) / float64(n),
			}, nil
		}
		// Aim 20% past d, growing at most 100 times.
		next := int64(n) * 100
		if ns := elapsed.Nanoseconds(); ns > 0 {
			next = min(next, int64(float64(n)*1.2*float64(d)/float64(ns)))
		}
		n = int(max(next, int64(n)+1))
	}
}
