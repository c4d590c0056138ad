package bench

import (
	"runtime"
	"time"
)

// sample is one measurement of a cell next to its floor.
type sample struct {
	ns, floorNs   float64 // time per op of the cell and of the floor
	allocs, bytes float64 // per op of the cell
	floorAllocs   float64
}

// batchTime is how long each turn of a paired measurement lasts: short
// enough that a burst of load on a shared machine hits both sides alike.
const batchTime = 200 * time.Microsecond

// measure runs op and floor in turns for about d in all, each turn a batch
// of about batchTime, and returns the median time per op of each side's
// batches: both meet the same load, and the median leaves out the batches
// that a busy machine stalled (the scheduler giving the CPU to another
// process, a garbage collection's pause). Allocations are counted apart,
// over a few ops of each. The first error ends it.
func measure(op, floor func() error, d time.Duration) (sample, error) {
	var s sample
	var err error
	if s.allocs, s.bytes, err = allocsPerOp(op, 5); err != nil {
		return s, err
	}
	if s.floorAllocs, _, err = allocsPerOp(floor, 5); err != nil {
		return s, err
	}
	nOp, err := calibrate(op)
	if err != nil {
		return s, err
	}
	nFloor, err := calibrate(floor)
	if err != nil {
		return s, err
	}
	var opTimes, floorTimes []float64
	for deadline := time.Now().Add(d); time.Now().Before(deadline) || len(opTimes) < 3; {
		t, err := timeOps(floor, nFloor)
		if err != nil {
			return s, err
		}
		floorTimes = append(floorTimes, float64(t.Nanoseconds())/float64(nFloor))
		if t, err = timeOps(op, nOp); err != nil {
			return s, err
		}
		opTimes = append(opTimes, float64(t.Nanoseconds())/float64(nOp))
	}
	s.ns, s.floorNs = median(opTimes), median(floorTimes)
	return s, nil
}

// calibrate returns how many ops make a batch of about batchTime.
func calibrate(op func() error) (int, error) {
	n := 1
	for {
		t, err := timeOps(op, n)
		if err != nil {
			return 0, err
		}
		if t >= batchTime/4 || n >= 1<<20 {
			return max(1, int(float64(n)*float64(batchTime)/float64(max(t, 1)))), nil
		}
		n *= 4
	}
}

func timeOps(op func() error, n int) (time.Duration, error) {
	start := time.Now()
	for range n {
		if err := op(); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// allocsPerOp counts the allocations of n ops, after one to warm up.
func allocsPerOp(op func() error, n int) (allocs, bytes float64, err error) {
	if err := op(); err != nil {
		return 0, 0, err
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		if err := op(); err != nil {
			return 0, 0, err
		}
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(n), float64(after.TotalAlloc-before.TotalAlloc) / float64(n), nil
}
