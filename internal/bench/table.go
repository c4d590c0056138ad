package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// Options configures Run.
type Options struct {
	// Rounds is how many times every cell is measured (default 5); the
	// table gives the median.
	Rounds int
	// BenchTime is how long each measurement of a cell runs (default
	// 100ms).
	BenchTime time.Duration
	// Works are the rows (default: Works).
	Works []Work
	// Libraries names the columns (default: every one of Libraries).
	Libraries []string
	// Servers are the storage servers; a library whose server is missing
	// is skipped.
	Servers Servers
	// Label, when set, is appended to every library's name in the results
	// ("sessiongo cookie (base)"), so that runs of two builds can be merged.
	Label string
	// Progress, when set, receives a line per measurement.
	Progress io.Writer
}

// Sample is one measurement of one cell in one round, next to the floor of
// its work in the same round.
type Sample struct {
	Round   int     `json:"round"`
	Work    string  `json:"work"`
	Library string  `json:"library"`
	Ns      float64 `json:"ns_per_op"`
	Allocs  float64 `json:"allocs_per_op"`
	Bytes   float64 `json:"bytes_per_op"`
	FloorNs float64 `json:"floor_ns_per_op"`
}

// Results are the samples of one or more runs.
type Results struct {
	Libraries []string          `json:"libraries"` // the columns, in order
	Works     []string          `json:"works"`     // the rows, in order
	Samples   []Sample          `json:"samples"`
	Skipped   map[string]string `json:"skipped,omitempty"` // library → why
	Errors    map[string]string `json:"errors,omitempty"`  // "library/work" → error
	Machine   string            `json:"machine"`
}

// Run measures every cell of the table, in rounds: in each round, for each
// kind of work, every library (starting with a different one each round),
// each in turns with the floor of its work (see measure).
func Run(ctx context.Context, opts Options) (*Results, error) {
	if opts.Rounds <= 0 {
		opts.Rounds = 5
	}
	if opts.BenchTime <= 0 {
		opts.BenchTime = 100 * time.Millisecond
	}
	if len(opts.Works) == 0 {
		opts.Works = Works
	}
	libs, err := pickLibraries(opts.Libraries)
	if err != nil {
		return nil, err
	}
	e := newEnv(opts.Servers)
	defer e.close()

	res := &Results{Skipped: map[string]string{}, Errors: map[string]string{}, Machine: machine()}
	for _, w := range opts.Works {
		res.Works = append(res.Works, w.String())
	}
	type cell struct {
		lib  Library
		name string
		op   func() error
	}
	cells := map[Work][]*cell{}
	floors := map[Work]func() error{}
	for _, l := range libs {
		name := l.Name + label(opts.Label)
		res.Libraries = append(res.Libraries, name)
		if why := e.available(l); why != "" {
			res.Skipped[name] = why
			continue
		}
		for _, w := range opts.Works {
			op, cleanup, err := e.cell(l, w)
			if err != nil {
				res.Errors[name+"/"+w.String()] = err.Error()
				continue
			}
			defer cleanup()
			cells[w] = append(cells[w], &cell{lib: l, name: name, op: op})
		}
	}
	for _, w := range opts.Works {
		if floors[w], err = floorOp(w); err != nil {
			return nil, err
		}
	}

	for round := range opts.Rounds {
		for _, w := range opts.Works {
			cs := cells[w]
			var floorNs, floorAllocs []float64
			for i := range cs {
				if err := ctx.Err(); err != nil {
					return res, err
				}
				c := cs[(i+round)%len(cs)]
				if c.op == nil {
					continue
				}
				s, err := measure(c.op, floors[w], opts.BenchTime)
				if err != nil {
					res.Errors[c.name+"/"+w.String()] = err.Error()
					c.op = nil
					continue
				}
				res.Samples = append(res.Samples, Sample{Round: round, Work: w.String(), Library: c.name,
					Ns: s.ns, Allocs: s.allocs, Bytes: s.bytes, FloorNs: s.floorNs})
				floorNs, floorAllocs = append(floorNs, s.floorNs), append(floorAllocs, s.floorAllocs)
				if opts.Progress != nil {
					fmt.Fprintf(opts.Progress, "round %d/%d  %-10s  %-28s %10.0f ns/op %6.1f allocs/op  %.2fx the floor\n",
						round+1, opts.Rounds, w, c.name, s.ns, s.allocs, s.ns/s.floorNs)
				}
			}
			if len(floorNs) > 0 {
				fl := median(floorNs)
				res.Samples = append(res.Samples, Sample{Round: round, Work: w.String(), Library: floorName + label(opts.Label),
					Ns: fl, Allocs: median(floorAllocs), FloorNs: fl})
			}
		}
	}
	if len(res.Skipped) == 0 {
		res.Skipped = nil
	}
	if len(res.Errors) == 0 {
		res.Errors = nil
	}
	return res, nil
}

const floorName = "floor"

func label(l string) string {
	if l == "" {
		return ""
	}
	return " (" + l + ")"
}

func pickLibraries(names []string) ([]Library, error) {
	if len(names) == 0 {
		return Libraries, nil
	}
	var out []Library
	for _, n := range names {
		i := slices.IndexFunc(Libraries, func(l Library) bool { return strings.EqualFold(l.Name, n) })
		if i < 0 {
			var all []string
			for _, l := range Libraries {
				all = append(all, l.Name)
			}
			return nil, fmt.Errorf("bench: unknown library %q (want one of %s)", n, strings.Join(all, ", "))
		}
		out = append(out, Libraries[i])
	}
	return out, nil
}

func machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs, GOMAXPROCS %d, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
}

// Merge returns the samples of several runs as one: runs of two builds
// with different labels, measured in turns, make one table.
func Merge(runs ...*Results) *Results {
	out := &Results{}
	for _, r := range runs {
		for _, l := range r.Libraries {
			if !slices.Contains(out.Libraries, l) {
				out.Libraries = append(out.Libraries, l)
			}
		}
		for _, w := range r.Works {
			if !slices.Contains(out.Works, w) {
				out.Works = append(out.Works, w)
			}
		}
		out.Samples = append(out.Samples, r.Samples...)
		for k, v := range r.Skipped {
			if out.Skipped == nil {
				out.Skipped = map[string]string{}
			}
			out.Skipped[k] = v
		}
		for k, v := range r.Errors {
			if out.Errors == nil {
				out.Errors = map[string]string{}
			}
			out.Errors[k] = v
		}
		out.Machine = r.Machine
	}
	// Each library's columns side by side: "x (base)", then "x (head)".
	order := map[string]int{}
	for _, l := range out.Libraries {
		name, _, _ := strings.Cut(l, " (")
		if _, ok := order[name]; !ok {
			order[name] = len(order)
		}
	}
	slices.SortStableFunc(out.Libraries, func(a, b string) int {
		na, _, _ := strings.Cut(a, " (")
		nb, _, _ := strings.Cut(b, " (")
		return order[na] - order[nb]
	})
	return out
}

// ReadResults decodes results written with WriteJSON.
func ReadResults(r io.Reader) (*Results, error) {
	var res Results
	if err := json.NewDecoder(r).Decode(&res); err != nil {
		return nil, err
	}
	return &res, nil
}

// WriteJSON writes the results as JSON, for Merge.
func (r *Results) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(r)
}

// Stat is the median of one cell over its samples.
type Stat struct {
	Ratio   float64 // time per op over the floor's in the same round
	Ns      float64 // time per op
	Allocs  float64 // allocations per op
	Samples int
}

// Stat returns the median of the samples of library lib doing work w, and
// false when there are none.
func (r *Results) Stat(lib, w string) (Stat, bool) {
	var ratios, ns, allocs []float64
	for _, s := range r.Samples {
		if s.Library == lib && s.Work == w {
			ratios = append(ratios, s.Ns/s.FloorNs)
			ns = append(ns, s.Ns)
			allocs = append(allocs, s.Allocs)
		}
	}
	if len(ns) == 0 {
		return Stat{}, false
	}
	return Stat{Ratio: median(ratios), Ns: median(ns), Allocs: median(allocs), Samples: len(ns)}, true
}

// median returns the median of v (sorting it), 0 for none: a route or
// cell that was not measured.
func median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// WriteMarkdown writes the table of ratios to the floor (and the floor's
// time per op), then the table of allocations per op, then notes.
func (r *Results) WriteMarkdown(w io.Writer) {
	floors := r.floorColumns()
	libs := r.libraryColumns()
	title := func(name string) string { return name }
	rounds := 0
	for _, l := range libs {
		for _, work := range r.Works {
			if st, ok := r.Stat(l, work); ok {
				rounds = max(rounds, st.Samples)
			}
		}
	}
	fmt.Fprintf(w, "Time per request over the floor's (median of %d rounds; lower is better):\n\n", rounds)
	r.writeTable(w, floors, libs, title, func(lib, work string, floor bool) string {
		st, ok := r.Stat(lib, work)
		switch {
		case !ok:
			return r.missing(lib, work)
		case floor:
			return formatNs(st.Ns)
		}
		return fmt.Sprintf("%.2f×", st.Ratio)
	})
	fmt.Fprintf(w, "\nAllocations per request (median):\n\n")
	r.writeTable(w, floors, libs, title, func(lib, work string, _ bool) string {
		st, ok := r.Stat(lib, work)
		if !ok {
			return r.missing(lib, work)
		}
		return fmt.Sprintf("%.0f", st.Allocs)
	})
	fmt.Fprintln(w)
	for _, l := range libs {
		if why, ok := r.Skipped[l]; ok {
			fmt.Fprintf(w, "- %s skipped: %s\n", l, why)
		}
	}
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "- %s failed: %s\n", k, r.Errors[k])
	}
	fmt.Fprintf(w, "- machine: %s\n", r.Machine)
}

func (r *Results) missing(lib, work string) string {
	if _, ok := r.Errors[lib+"/"+work]; ok {
		return "error"
	}
	return "–"
}

func (r *Results) floorColumns() []string {
	var out []string
	for _, s := range r.Samples {
		if strings.HasPrefix(s.Library, floorName) && !slices.Contains(out, s.Library) {
			out = append(out, s.Library)
		}
	}
	sort.Strings(out)
	return out
}

func (r *Results) libraryColumns() []string {
	var out []string
	for _, l := range r.Libraries {
		if !strings.HasPrefix(l, floorName) {
			out = append(out, l)
		}
	}
	return out
}

func (r *Results) writeTable(w io.Writer, floors, libs []string, title func(string) string, cell func(lib, work string, floor bool) string) {
	fmt.Fprint(w, "| work |")
	for _, f := range floors {
		fmt.Fprintf(w, " %s |", title(f))
	}
	for _, l := range libs {
		fmt.Fprintf(w, " %s |", title(l))
	}
	fmt.Fprint(w, "\n|---|")
	for range len(floors) + len(libs) {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, name := range r.Works {
		t := name
		if wk, err := ParseWork(name); err == nil {
			t = wk.Title()
		}
		fmt.Fprintf(w, "| %s |", t)
		for _, f := range floors {
			fmt.Fprintf(w, " %s |", cell(f, name, true))
		}
		for _, l := range libs {
			fmt.Fprintf(w, " %s |", cell(l, name, false))
		}
		fmt.Fprintln(w)
	}
}

func formatNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}
