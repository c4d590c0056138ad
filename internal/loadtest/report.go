package loadtest

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sessiongo/session/internal/loadtest/exampleapp"
)

// Window is one injected fault: from Start, when the harness began it, to
// Restored, when the fault's command returned with the server serving
// again. Errors are expected from Start to Restored plus the run's grace.
type Window struct {
	// Fault names the fault (scripts/faultsrv.sh fault NAME).
	Fault string
	// Start and Restored bound the fault.
	Start, Restored time.Time
	// Err is the fault command's failure, if any.
	Err error
}

// FaultStat is what one fault did to one app.
type FaultStat struct {
	// Fault names the fault.
	Fault string
	// Outage is how long the fault's command took, from the injection to
	// the server serving again.
	Outage time.Duration
	// Errors counts the failed requests in the window.
	Errors int
	// Unavailable is how long after the injection the app failed
	// requests: to the end of the window's last failed request, 0 when
	// none failed.
	Unavailable time.Duration
	// Recovery is how long after the server served again the app still
	// failed requests: from Restored to the end of the window's last
	// failed request, 0 when none failed after Restored.
	Recovery time.Duration
	// At is when the fault began, from the start of the run.
	At time.Duration
}

// Report is the outcome of one app (one store, one mode) in one run.
type Report struct {
	// Store and Mode name the app.
	Store string
	Mode  Mode
	// Users is the number of virtual users.
	Users int
	// MustNotLose says that an acknowledged write lost fails the run.
	MustNotLose bool
	// Duration is how long the users ran.
	Duration time.Duration
	// Requests counts every request; Errors the failed ones by class.
	Requests int
	Errors   map[Class]int
	// Outside counts the failed requests outside every fault window; it
	// must be 0. OutsideResults are the first of them, for the details
	// (the apps' log has the errors' text at the same times).
	Outside        int
	OutsideResults []Result
	// Lost counts the acknowledged saves found missing (Kind Lost), in
	// LostEvents events; GoneAfterError the sessions gone after a failed
	// request (reported only); Wrong the wrong pages.
	Lost           int64
	LostEvents     int
	GoneAfterError int
	Wrong          int
	// Faults is one entry per injected fault.
	Faults []FaultStat
	// P50 and P99 are latency percentiles over every request.
	P50, P99 time.Duration
	// MemStart and MemEnd are the app's memory before the users started
	// and after they stopped.
	MemStart, MemEnd exampleapp.Mem
	// Events are the first events seen, for the details.
	Events []Event
	// Failures say why the app's run failed; empty when it passed.
	Failures []string
}

// Passed reports whether the app's run passed.
func (r *Report) Passed() bool { return len(r.Failures) == 0 }

// maxEvents bounds Report.Events.
const maxEvents = 10

// summarize makes the report of results and events given the fault
// windows and the grace after each.
func summarize(r *Report, start time.Time, results []Result, events []Event, windows []Window, grace time.Duration) {
	r.Requests = len(results)
	r.Errors = map[Class]int{}
	lat := make([]time.Duration, 0, len(results))
	for _, res := range results {
		lat = append(lat, res.End.Sub(res.Start))
		if res.Class == OK {
			continue
		}
		r.Errors[res.Class]++
		if res.Class != WrongPage && !inWindow(res, windows, grace) {
			r.Outside++
			if len(r.OutsideResults) < maxEvents {
				r.OutsideResults = append(r.OutsideResults, res)
			}
		}
	}
	r.P50, r.P99 = percentile(lat, 50), percentile(lat, 99)
	for _, w := range windows {
		fs := FaultStat{Fault: w.Fault, Outage: w.Restored.Sub(w.Start), At: w.Start.Sub(start)}
		var last time.Time
		for _, res := range results {
			if res.Class == OK || res.Class == WrongPage || !overlaps(res, w, grace) {
				continue
			}
			fs.Errors++
			if res.End.After(last) {
				last = res.End
			}
		}
		if !last.IsZero() {
			fs.Unavailable = last.Sub(w.Start)
		}
		if last.After(w.Restored) {
			fs.Recovery = last.Sub(w.Restored)
		}
		r.Faults = append(r.Faults, fs)
		if w.Err != nil {
			r.Failures = append(r.Failures, fmt.Sprintf("fault %s: %v", w.Fault, w.Err))
		}
	}
	for _, e := range events {
		switch e.Kind {
		case Lost:
			r.Lost += e.Saves
			r.LostEvents++
		case GoneAfterError:
			r.GoneAfterError++
		case Wrong:
			r.Wrong++
		}
		if len(r.Events) < maxEvents {
			r.Events = append(r.Events, e)
		}
	}
	if r.Outside > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d failed requests outside the fault windows", r.Outside))
	}
	if r.Wrong > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d wrong pages", r.Wrong))
	}
	if r.MustNotLose && r.Lost > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d acknowledged saves lost", r.Lost))
	}
	if r.Requests-sumErrors(r.Errors) == 0 {
		r.Failures = append(r.Failures, "no request succeeded")
	}
}

func sumErrors(m map[Class]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// overlaps reports whether res overlaps w's window: from w.Start to
// w.Restored + grace.
func overlaps(res Result, w Window, grace time.Duration) bool {
	return !res.Start.After(w.Restored.Add(grace)) && !res.End.Before(w.Start)
}

func inWindow(res Result, windows []Window, grace time.Duration) bool {
	for _, w := range windows {
		if overlaps(res, w, grace) {
			return true
		}
	}
	return false
}

// percentile returns the p-th percentile (nearest rank) of d, 0 for none;
// it sorts d.
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	rank := (p*len(d) + 99) / 100 // ceil(p/100 * n)
	return d[max(rank, 1)-1]
}

// WriteTable writes reports as a Markdown table, one row per app, then the
// failures and the first events of each.
func WriteTable(w io.Writer, reports []*Report) {
	fmt.Fprintln(w, "| store | mode | users | requests | req/s | errors by class | outside windows | lost acked saves | gone after error | faults: server back / errors / app failing / after server back | p50 | p99 | RSS start → end | heap start → end | goroutines | result |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---|---|---|---|")
	for _, r := range reports {
		lost := fmt.Sprint(r.Lost)
		if !r.MustNotLose {
			lost += " (report)"
		}
		result := "PASS"
		if !r.Passed() {
			result = "FAIL"
		}
		rate := 0.0
		if r.Duration > 0 {
			rate = float64(r.Requests) / r.Duration.Seconds()
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %.0f | %s | %d | %s | %d | %s | %s | %s | %s | %s | %d → %d | %s |\n",
			r.Store, r.Mode, r.Users, r.Requests, rate, errorClasses(r.Errors), r.Outside, lost, r.GoneAfterError,
			faults(r.Faults), ms(r.P50), ms(r.P99), mib(r.MemStart.RSS)+" → "+mib(r.MemEnd.RSS),
			mib(r.MemStart.HeapInuse)+" → "+mib(r.MemEnd.HeapInuse), r.MemStart.Goroutines, r.MemEnd.Goroutines, result)
	}
	for _, r := range reports {
		if len(r.Failures) == 0 && len(r.Events) == 0 && len(r.Faults) < 2 {
			continue
		}
		fmt.Fprintf(w, "\n%s/%s:\n", r.Store, r.Mode)
		if len(r.Faults) > 1 {
			for i, f := range r.Faults {
				fmt.Fprintf(w, "  fault %d, %s at +%.0fs: server back after %.1fs, %d errors, the app failing for %.1fs (%.1fs after the server was back)\n",
					i+1, f.Fault, f.At.Seconds(), f.Outage.Seconds(), f.Errors, f.Unavailable.Seconds(), f.Recovery.Seconds())
			}
		}
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  FAIL: %s\n", f)
		}
		for _, res := range r.OutsideResults {
			fmt.Fprintf(w, "  %s outside the fault windows: %s %s (%.1fms)\n", res.Start.Format("15:04:05.000"),
				res.Op, res.Class, float64(res.End.Sub(res.Start))/float64(time.Millisecond))
		}
		for _, e := range r.Events {
			fmt.Fprintf(w, "  %s %s: %s\n", e.At.Format("15:04:05.000"), e.Kind, e.What)
		}
	}
}

func errorClasses(m map[Class]int) string {
	var parts []string
	for _, c := range classes {
		if m[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, m[c]))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ", ")
}

// faults sums the faults up by name: how many, the longest time to get
// the server back, the failed requests, the longest time the app failed
// requests, and the longest it failed them after the server was back.
func faults(fs []FaultStat) string {
	if len(fs) == 0 {
		return "none"
	}
	type sum struct {
		n, errors                     int
		outage, unavailable, recovery time.Duration
	}
	var names []string
	sums := map[string]*sum{}
	for _, f := range fs {
		s := sums[f.Fault]
		if s == nil {
			s = &sum{}
			sums[f.Fault] = s
			names = append(names, f.Fault)
		}
		s.n++
		s.errors += f.Errors
		s.outage = max(s.outage, f.Outage)
		s.unavailable = max(s.unavailable, f.Unavailable)
		s.recovery = max(s.recovery, f.Recovery)
	}
	var parts []string
	for _, name := range names {
		s := sums[name]
		parts = append(parts, fmt.Sprintf("%s ×%d: ≤%.1fs / %d / ≤%.1fs / ≤%.1fs",
			name, s.n, s.outage.Seconds(), s.errors, s.unavailable.Seconds(), s.recovery.Seconds()))
	}
	return strings.Join(parts, "; ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func mib(b uint64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }
