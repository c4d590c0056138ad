// Command benchtable prints the comparison table of sessiongo and its
// peers, and the HTTP table (see package bench):
//
//	go run ./internal/bench/cmd/benchtable              # both tables, servers from the environment
//	go run ./internal/bench/cmd/benchtable -http=false  # the work table only
//	go run ./internal/bench/cmd/benchtable -libs 'sessiongo cookie,scs memory' -works large,large-read
//
// Runs of two builds can be merged into one table: run each with -label and
// -json (one round each, in turns), then
//
//	benchtable -merge base-1.json head-1.json base-2.json ...
//
// scripts/bench.sh -base REV does that for a git revision.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/sessiongo/session/internal/bench"
)

func main() {
	var (
		rounds    = flag.Int("rounds", 5, "interleaved rounds; the table gives the median")
		benchTime = flag.Duration("benchtime", 100*time.Millisecond, "how long each measurement runs")
		works     = flag.String("works", "", "comma-separated kinds of work (default all: new,read,update,large,large-read)")
		libs      = flag.String("libs", "", "comma-separated library columns (default all)")
		label     = flag.String("label", "", "appended to every column name, for -merge")
		jsonOut   = flag.String("json", "", "write the samples as JSON to this file")
		merge     = flag.Bool("merge", false, "print the table of the JSON files given as arguments")
		table     = flag.Bool("table", true, "run the work table")
		httpRun   = flag.Bool("http", true, "run the HTTP table")
		httpDur   = flag.Duration("http-duration", time.Second, "length of each HTTP turn")
		httpRound = flag.Int("http-rounds", 10, "HTTP turns per server")
		workers   = flag.Int("http-workers", 8, "HTTP requests in flight")
		routes    = flag.String("http-routes", "", "comma-separated session routes of the HTTP table (default all: value,typed)")
		verbose   = flag.Bool("v", false, "print every measurement to stderr")
		cpuProf   = flag.String("cpuprofile", "", "write a CPU profile of the run (client and servers: one process) to this file; the HTTP requests carry pprof labels (server, path, turn)")
	)
	flag.Parse()
	log.SetFlags(0)
	if *merge {
		var runs []*bench.Results
		for _, name := range flag.Args() {
			f, err := os.Open(name)
			if err != nil {
				log.Fatal(err)
			}
			r, err := bench.ReadResults(f)
			f.Close()
			if err != nil {
				log.Fatalf("%s: %v", name, err)
			}
			runs = append(runs, r)
		}
		bench.Merge(runs...).WriteMarkdown(os.Stdout)
		return
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				log.Print(err)
			}
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var progress io.Writer
	if *verbose {
		progress = os.Stderr
	}
	if *table {
		opts := bench.Options{Rounds: *rounds, BenchTime: *benchTime, Label: *label, Servers: bench.ServersFromEnv(), Progress: progress}
		for _, w := range split(*works) {
			wk, err := bench.ParseWork(w)
			if err != nil {
				log.Fatal(err)
			}
			opts.Works = append(opts.Works, wk)
		}
		opts.Libraries = split(*libs)
		res, err := bench.Run(ctx, opts)
		if err != nil {
			log.Fatal(err)
		}
		if *jsonOut != "" {
			f, err := os.Create(*jsonOut)
			if err != nil {
				log.Fatal(err)
			}
			if err := res.WriteJSON(f); err != nil {
				log.Fatal(err)
			}
			if err := f.Close(); err != nil {
				log.Fatal(err)
			}
		} else {
			res.WriteMarkdown(os.Stdout)
		}
	}
	if *httpRun {
		res, err := bench.RunHTTP(ctx, bench.HTTPOptions{Rounds: *httpRound, Duration: *httpDur, Workers: *workers, Progress: progress, Labels: *cpuProf != "", Routes: split(*routes)})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println()
		res.WriteMarkdown(os.Stdout)
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
