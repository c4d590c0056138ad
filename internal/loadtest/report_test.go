package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

// at returns a result from s to e seconds after t0.
func at(s, e float64, class Class) Result {
	sec := func(f float64) time.Time { return t0.Add(time.Duration(math.Round(f*1000)) * time.Millisecond) }
	return Result{Start: sec(s), End: sec(e), Op: "page", Class: class}
}

// TestSummarize checks the report's sums: errors inside a fault's window
// (from its start to its end plus the grace) are the fault's, with the
// recovery measured from the end; errors elsewhere fail the run; losses
// fail it only where the store must not lose; wrong pages fail it
// anywhere.
func TestSummarize(t *testing.T) {
	t.Parallel()
	window := Window{Fault: "redis-restart", Start: t0.Add(10 * time.Second), Restored: t0.Add(12 * time.Second)}
	grace := 5 * time.Second
	tests := []struct {
		name         string
		mustNotLose  bool
		results      []Result
		events       []Event
		windows      []Window
		wantOutside  int
		wantErrors   int // in the window
		wantRecovery time.Duration
		wantUnavail  time.Duration
		wantLost     int64
		wantFailures []string // substrings, one per failure
	}{
		{"all ok", true, []Result{at(1, 1.1, OK), at(11, 11.1, OK)}, nil, []Window{window}, 0, 0, 0, 0, 0, nil},
		{"errors during the fault", true,
			[]Result{at(9, 9.1, OK), at(10.5, 10.6, HTTP5xx), at(11.9, 12.5, HTTP5xx), at(13, 13.1, OK)},
			nil, []Window{window}, 0, 2, 500 * time.Millisecond, 2500 * time.Millisecond, 0, nil},
		{"a request that began before the fault and failed in it", true,
			[]Result{at(9.5, 10.2, Timeout), at(13, 13.1, OK)}, nil, []Window{window}, 0, 1, 0, 200 * time.Millisecond, 0, nil},
		{"errors in the grace", true,
			[]Result{at(16.5, 16.9, HTTP5xx), at(13, 13.1, OK)}, nil, []Window{window}, 0, 1, 4900 * time.Millisecond, 6900 * time.Millisecond, 0, nil},
		{"errors after the grace", true,
			[]Result{at(17.5, 17.6, HTTP5xx), at(30, 30.1, Transport), at(31, 31.1, OK)}, nil, []Window{window}, 2, 0, 0, 0, 0,
			[]string{"2 failed requests outside"}},
		{"errors before any fault", true,
			[]Result{at(1, 1.1, HTTPOther), at(2, 2.1, OK)}, nil, []Window{window}, 1, 0, 0, 0, 0, []string{"1 failed requests outside"}},
		{"errors without faults", false,
			[]Result{at(1, 1.1, HTTP5xx), at(2, 2.1, OK)}, nil, nil, 1, 0, 0, 0, 0, []string{"outside"}},
		{"a wrong page in the window", false,
			[]Result{at(11, 11, WrongPage), at(12, 12.1, OK)}, []Event{{Kind: Wrong}}, []Window{window}, 0, 0, 0, 0, 0,
			[]string{"1 wrong pages"}},
		{"losses where the store must not lose", true,
			[]Result{at(13, 13.1, OK)}, []Event{{Kind: Lost, Saves: 3}, {Kind: Lost, Saves: 1}, {Kind: GoneAfterError}},
			[]Window{window}, 0, 0, 0, 0, 4, []string{"4 acknowledged saves lost"}},
		{"losses reported only", false,
			[]Result{at(13, 13.1, OK)}, []Event{{Kind: Lost, Saves: 3}}, []Window{window}, 0, 0, 0, 0, 3, nil},
		{"a fault that failed", true,
			[]Result{at(13, 13.1, OK)}, nil, []Window{{Fault: "x", Start: t0, Restored: t0, Err: errors.New("boom")}},
			0, 0, 0, 0, 0, []string{"fault x: boom"}},
		{"nothing succeeded", false,
			[]Result{at(11, 11.1, HTTP5xx)}, nil, []Window{window}, 0, 1, 0, 1100 * time.Millisecond, 0, []string{"no request succeeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &Report{MustNotLose: tt.mustNotLose}
			summarize(r, t0, tt.results, tt.events, tt.windows, grace)
			if r.Outside != tt.wantOutside {
				t.Errorf("outside = %d, want %d", r.Outside, tt.wantOutside)
			}
			if r.Lost != tt.wantLost {
				t.Errorf("lost = %d, want %d", r.Lost, tt.wantLost)
			}
			if len(tt.windows) > 0 && tt.windows[0].Err == nil {
				if f := r.Faults[0]; f.Errors != tt.wantErrors || f.Recovery != tt.wantRecovery ||
					f.Unavailable != tt.wantUnavail || f.Outage != 2*time.Second || f.At != 10*time.Second {
					t.Errorf("fault = %+v, want %d errors, failing %v, recovery %v, outage 2s, at 10s",
						f, tt.wantErrors, tt.wantUnavail, tt.wantRecovery)
				}
			}
			if len(r.Failures) != len(tt.wantFailures) {
				t.Fatalf("failures %q, want %q", r.Failures, tt.wantFailures)
			}
			for i, f := range r.Failures {
				if !strings.Contains(f, tt.wantFailures[i]) {
					t.Errorf("failure %q, want one with %q", f, tt.wantFailures[i])
				}
			}
			if r.Passed() != (len(tt.wantFailures) == 0) {
				t.Errorf("Passed() = %v with failures %q", r.Passed(), r.Failures)
			}
			if len(r.OutsideResults) != tt.wantOutside {
				t.Errorf("%d outside results kept, want %d", len(r.OutsideResults), tt.wantOutside)
			}
			if r.Requests != len(tt.results) {
				t.Errorf("requests = %d, want %d", r.Requests, len(tt.results))
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, v := range n {
			d = append(d, time.Duration(v)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 ... 1, unsorted
	}
	for _, tt := range []struct {
		d    []time.Duration
		p    int
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(3, 1, 2), 50, 2 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
	} {
		if got := percentile(slices.Clone(tt.d), tt.p); got != tt.want {
			t.Errorf("percentile(%v, %d) = %v, want %v", tt.d, tt.p, got, tt.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status int
		err    error
		want   int
		class  Class
	}{
		{200, nil, 200, OK},
		{303, nil, 303, OK},
		{200, nil, 303, HTTPOther},
		{500, nil, 200, HTTP5xx},
		{503, nil, 303, HTTP5xx},
		{404, nil, 200, HTTPOther},
		{0, fmt.Errorf("get: %w", context.DeadlineExceeded), 200, Timeout},
		{0, fmt.Errorf("read: %w", timeoutErr{}), 200, Timeout},
		{0, errors.New("connection refused"), 200, Transport},
	} {
		if got := classify(tt.status, tt.err, tt.want); got != tt.class {
			t.Errorf("classify(%d, %v, %d) = %s, want %s", tt.status, tt.err, tt.want, got, tt.class)
		}
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SESSIONGO_LOAD_SENTINEL": "m@127.0.0.1:1", "SESSIONGO_LOAD_POSTGRES": "postgres://x"}
	targets, missing := Targets([]string{"memory", "sqlite", "sentinel", "postgres", "redis", "nope"},
		func(k string) string { return env[k] }, "/tmp/x")
	var got []string
	for _, tg := range targets {
		got = append(got, fmt.Sprintf("%s %s %s %v %d", tg.Store, tg.Addr, tg.Fault, tg.MustNotLose, tg.WaitReplicas))
	}
	want := []string{
		"memory   true 0",
		"sqlite /tmp/x  true 0",
		"sentinel m@127.0.0.1:1 sentinel-failover true 1",
		"postgres postgres://x postgres-restart true 0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("targets:\n%q\nwant\n%q", got, want)
	}
	if len(missing) != 2 || !strings.Contains(missing[0], "SESSIONGO_LOAD_REDIS") || !strings.Contains(missing[1], "unknown") {
		t.Errorf("missing = %q", missing)
	}
	// Every store the harness knows has an entry; the report-only ones
	// are those that lose on purpose.
	all, missing := Targets(StoreNames, func(string) string { return "x" }, "d")
	if len(all) != len(StoreNames) || len(missing) != 0 {
		t.Fatalf("Targets(StoreNames): %d targets, missing %q", len(all), missing)
	}
	for _, tg := range all {
		reportOnly := tg.Store == "redis" || tg.Store == "memcached" || tg.Store == "cluster"
		if tg.MustNotLose == reportOnly {
			t.Errorf("%s: MustNotLose %v", tg.Store, tg.MustNotLose)
		}
	}
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	r := &Report{Store: "postgres", Mode: ServerMode, Users: 2, MustNotLose: true, Duration: 10 * time.Second}
	summarize(r, t0, []Result{at(1, 1.002, OK), at(11, 11.5, HTTP5xx), at(30, 30.25, HTTP5xx)},
		[]Event{{At: t0, Kind: Lost, Saves: 2, What: "the session of alice is gone"}},
		[]Window{{Fault: "postgres-restart", Start: t0.Add(10 * time.Second), Restored: t0.Add(11 * time.Second)}}, time.Second)
	var b strings.Builder
	WriteTable(&b, []*Report{r})
	out := b.String()
	for _, want := range []string{
		"| postgres | server | 2 | 3 | 0 | 5xx 2 | 1 | 2 |",
		"postgres-restart ×1: ≤1.0s / 1 / ≤1.5s / ≤0.5s",
		"| FAIL |",
		"FAIL: 2 acknowledged saves lost",
		"outside the fault windows: page 5xx (250.0ms)",
		"lost: the session of alice is gone",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
}
