// Command sessionload runs the load-and-fault harness (package loadtest)
// on each store, one after the other, and prints a Markdown table of the
// results. It exits 1 when a store's run failed (errors outside the fault
// windows, acknowledged saves lost where the store promises durability,
// wrong pages, a fault that could not be injected).
//
// It expects the servers of scripts/faultsrv.sh, their addresses in the
// environment (SESSIONGO_LOAD_*): run it through scripts/load.sh, which
// starts them, runs this command and stops them:
//
//	scripts/load.sh short              # what .ci/run runs
//	scripts/load.sh long               # minutes per store
//	scripts/load.sh short -stores memory,postgres -users 2
//
// A store whose address is missing is skipped, or fails the run when
// SESSIONGO_REQUIRE_SERVICES=1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sessiongo/session/internal/loadtest"
	"github.com/sessiongo/session/internal/loadtest/exampleapp"
)

func main() {
	os.Exit(run())
}

func run() int {
	profile := flag.String("profile", "short", "short or long: the defaults of the flags below")
	stores := flag.String("stores", strings.Join(loadtest.StoreNames, ","), "stores to load, in order")
	users := flag.Int("users", 0, "virtual users per mode (0: the profile's)")
	rate := flag.Float64("rate", 0, "steps per second per user (0: the profile's)")
	duration := flag.Duration("duration", 0, "least run time per store (0: the profile's)")
	every := flag.Duration("every", -1, "time between faults, 0 for one (-1: the profile's)")
	grace := flag.Duration("grace", 0, "errors allowed this long after a fault's server is back (0: the profile's)")
	modes := flag.String("modes", "cookie,server", "app modes, each an app of its own run side by side")
	faultCmd := flag.String("fault-command", "", "command a fault name is appended to (default: bash <repo>/scripts/faultsrv.sh fault)")
	out := flag.String("out", "", "also write the table to this file")
	jsonOut := flag.String("json", "", "write the reports as JSON to this file")
	appLog := flag.String("app-log", "", "append the apps' standard error to this file")
	flag.Parse()

	p := loadtest.Short
	switch *profile {
	case "short":
	case "long":
		p = loadtest.Long
	default:
		fmt.Fprintf(os.Stderr, "sessionload: unknown profile %q (short or long)\n", *profile)
		return 2
	}
	o := p.Options
	if *users > 0 {
		o.Users = *users
	}
	if *rate > 0 {
		o.Rate = *rate
	}
	if *duration > 0 {
		o.Duration = *duration
	}
	if *every >= 0 {
		o.Every = *every
	}
	if *grace > 0 {
		o.Grace = *grace
	}
	o.Modes = nil
	for _, m := range strings.Split(*modes, ",") {
		switch loadtest.Mode(m) {
		case loadtest.CookieMode, loadtest.ServerMode:
			o.Modes = append(o.Modes, loadtest.Mode(m))
		default:
			fmt.Fprintf(os.Stderr, "sessionload: unknown mode %q (cookie, server)\n", m)
			return 2
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := exampleapp.FindRoot(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sessionload:", err)
		return 2
	}
	o.FaultCommand = []string{"bash", filepath.Join(root, "scripts", "faultsrv.sh"), "fault"}
	if *faultCmd != "" {
		o.FaultCommand = strings.Fields(*faultCmd)
	}
	dir, err := os.MkdirTemp("", "sessionload-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sessionload:", err)
		return 2
	}
	defer os.RemoveAll(dir)
	o.Log = os.Stderr
	if *appLog != "" {
		f, err := os.OpenFile(*appLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sessionload:", err)
			return 2
		}
		defer f.Close()
		o.AppLog = f
	}

	targets, missing := loadtest.Targets(strings.Split(*stores, ","), os.Getenv, dir)
	code := 0
	for _, m := range missing {
		if os.Getenv("SESSIONGO_REQUIRE_SERVICES") == "1" {
			fmt.Fprintf(os.Stderr, "sessionload: FAIL %s (SESSIONGO_REQUIRE_SERVICES=1)\n", m)
			code = 1
		} else {
			fmt.Fprintf(os.Stderr, "sessionload: skipping %s (start the servers with scripts/load.sh)\n", m)
		}
	}
	fmt.Fprintln(os.Stderr, "sessionload: building the example app")
	bin, err := exampleapp.Build(ctx, root, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sessionload:", err)
		return 1
	}

	started := time.Now()
	var reports []*loadtest.Report
	for _, t := range targets {
		reps, err := loadtest.Run(ctx, bin, t, o)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sessionload: %s: %v\n", t.Store, err)
			code = 1
			if ctx.Err() != nil {
				break
			}
		}
		for _, r := range reps {
			result := "PASS"
			if !r.Passed() {
				result, code = "FAIL", 1
			}
			fmt.Fprintf(os.Stderr, "sessionload: %s/%s: %s (%d requests, %d outside, %d lost)\n",
				r.Store, r.Mode, result, r.Requests, r.Outside, r.Lost)
		}
		reports = append(reports, reps...)
	}

	var w io.Writer = os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sessionload:", err)
			return 1
		}
		defer f.Close()
		w = io.MultiWriter(os.Stdout, f)
	}
	fmt.Fprintf(w, "Profile %s: %d users per mode at %.0f steps/s each, at least %s per store, a fault every %s (one when 0), grace %s; %s in all.\n\n",
		p.Name, o.Users, o.Rate, o.Duration, o.Every, o.Grace, time.Since(started).Round(time.Second))
	loadtest.WriteTable(w, reports)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(reports, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonOut, b, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "sessionload:", err)
			code = 1
		}
	}
	passed := 0
	for _, r := range reports {
		if r.Passed() {
			passed++
		}
	}
	fmt.Fprintf(os.Stderr, "sessionload: %d passed, %d failed\n", passed, len(reports)-passed)
	return code
}
