package loadtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessiongo/session/internal/loadtest/exampleapp"
)

// Target is one store under load.
type Target struct {
	// Store is memory, redis, sentinel, cluster, memcached, postgres,
	// mariadb or sqlite (exampleapp.Config.Store).
	Store string
	// Addr is the store's address (exampleapp.Config.Target); for sqlite
	// a directory for the database files.
	Addr string
	// Fault is the fault injected during the run (a name for
	// Options.FaultCommand); empty for none.
	Fault string
	// MustNotLose makes an acknowledged save lost fail the run.
	MustNotLose bool
	// WaitReplicas is passed to the app (Sentinel: saves wait for replicas).
	WaitReplicas int
}

// Options says how hard and how long Run loads a target.
type Options struct {
	// Users is the number of virtual users per mode.
	Users int
	// Rate is the steps per second of each user (a step is one or two
	// requests); the users wait between steps to keep to it.
	Rate float64
	// Duration is the least time the users run.
	Duration time.Duration
	// Warmup is the time before the first fault.
	Warmup time.Duration
	// Every is the time between the starts of two faults; 0 injects one.
	Every time.Duration
	// Grace is how long after a fault's server is back errors still count
	// as the fault's.
	Grace time.Duration
	// Tail is the least time the users run after the last fault's window,
	// with no error allowed.
	Tail time.Duration
	// Modes are the app's modes, each an app of its own, run side by side.
	Modes []Mode
	// FaultCommand runs a fault: the fault's name is appended as the last
	// argument (e.g. bash scripts/faultsrv.sh fault). It must return once
	// the server serves again.
	FaultCommand []string
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// AppLog receives the apps' standard error; nil discards it.
	AppLog io.Writer
}

// names of the users: the example's two accounts.
var names = [2]string{"alice", "bob"}

// app is one app of a run and its users.
type app struct {
	mode  Mode
	proc  *exampleapp.App
	base  string
	tr    *http.Transport
	rec   *recorder
	users []*user
	rep   *Report
}

// Run loads the app built as bin (exampleapp.Build) on target, one app
// per mode, injects target's fault as o says, and reports on each app. The
// error is for a run that could not be made (an app that does not start);
// a run that went wrong is a report that did not pass.
func Run(ctx context.Context, bin string, target Target, o Options) ([]*Report, error) {
	if err := o.check(target); err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "[load %s] %s\n", target.Store, fmt.Sprintf(format, args...))
		}
	}
	run := strings.ToLower(rand.Text()[:6])
	seed := uint64(time.Now().UnixNano())
	var apps []*app
	defer func() {
		for _, a := range apps {
			a.proc.Stop()
			a.tr.CloseIdleConnections()
		}
	}()
	for _, mode := range o.Modes {
		cfg := exampleapp.Config{
			Store: target.Store, Target: target.Addr, Mode: string(mode), WaitReplicas: target.WaitReplicas,
			Prefix: fmt.Sprintf("load_%s_%s", mode, run), Log: o.AppLog,
		}
		if target.Store == "sqlite" {
			cfg.Target = "file:" + filepath.Join(target.Addr, cfg.Prefix+".db") +
				"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
		}
		proc, err := exampleapp.Start(ctx, bin, cfg)
		if err != nil {
			return nil, err
		}
		a := &app{
			mode: mode, proc: proc, base: "http://" + proc.Addr, rec: &recorder{},
			tr:  &http.Transport{MaxIdleConnsPerHost: o.Users + 4, IdleConnTimeout: time.Minute},
			rep: &Report{Store: target.Store, Mode: mode, Users: o.Users, MustNotLose: target.MustNotLose},
		}
		apps = append(apps, a)
		for i := range o.Users {
			us, err := newUser(a.rec, a.base, mode, names[i%2], a.tr, seed+uint64(i))
			if err != nil {
				return nil, err
			}
			a.users = append(a.users, us)
		}
		if a.rep.MemStart, err = proc.Mem(ctx, &http.Client{Transport: a.tr, Timeout: 10 * time.Second}, a.base); err != nil {
			return nil, err
		}
	}

	// The users, until stop.
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for _, a := range apps {
		for i, us := range a.users {
			wg.Go(func() {
				interval := time.Duration(float64(time.Second) / o.Rate)
				// Spread the users' steps over the interval.
				next := start.Add(interval * time.Duration(i) / time.Duration(len(a.users)))
				for !stop.Load() && ctx.Err() == nil {
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
					us.step(ctx)
					next = next.Add(interval)
					if now := time.Now(); next.Before(now) {
						next = now // behind: no burst to catch up
					}
				}
			})
		}
	}
	logf("%d users per mode (%s), %.0f steps/s each", o.Users, modes(o.Modes), o.Rate)

	// The faults.
	var windows []Window
	end := start.Add(o.Duration)
	if target.Fault != "" {
		at := start.Add(o.Warmup)
		for i := 0; ; i++ {
			if i > 0 && (o.Every == 0 || at.After(start.Add(o.Duration-o.Grace-o.Tail))) {
				break
			}
			if !sleepUntil(ctx, at) {
				break
			}
			w := inject(ctx, o.FaultCommand, target.Fault)
			logf("fault %s: back after %.1fs%s", w.Fault, w.Restored.Sub(w.Start).Seconds(), errText(w.Err))
			windows = append(windows, w)
			at = maxTime(at.Add(o.Every), w.Restored.Add(o.Grace))
			if w.Err != nil {
				break // the server may be down: nothing more to learn
			}
		}
		if n := len(windows); n > 0 {
			end = maxTime(end, windows[n-1].Restored.Add(o.Grace+o.Tail))
		}
	}
	sleepUntil(ctx, end)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)

	// The final check, after every fault: each page, each logged-out set.
	var fw sync.WaitGroup
	for _, a := range apps {
		for _, us := range a.users {
			fw.Go(func() { us.final(context.WithoutCancel(ctx)) })
		}
	}
	fw.Wait()

	reports := make([]*Report, 0, len(apps))
	for _, a := range apps {
		var err error
		if a.rep.MemEnd, err = a.proc.Mem(ctx, &http.Client{Transport: a.tr, Timeout: 10 * time.Second}, a.base); err != nil {
			a.rep.Failures = append(a.rep.Failures, fmt.Sprintf("memory at the end: %v", err))
		}
		exited := a.proc.Exited()
		if err := a.proc.Stop(); err != nil || exited {
			a.rep.Failures = append(a.rep.Failures, fmt.Sprintf("the app exited (early: %v): %v", exited, err))
		}
		a.rep.Duration = elapsed
		results, events := a.rec.snapshot()
		summarize(a.rep, start, results, events, windows, o.Grace)
		reports = append(reports, a.rep)
	}
	apps = nil
	return reports, ctx.Err()
}

// ErrOptions is the error of Run for options it cannot run with.
var ErrOptions = errors.New("loadtest: invalid options")

// check reports options Run cannot run with.
func (o Options) check(t Target) error {
	switch {
	case o.Users < 1:
		return fmt.Errorf("%w: %d users", ErrOptions, o.Users)
	case !(o.Rate > 0 && o.Rate <= 1000):
		return fmt.Errorf("%w: %v steps per second, want (0, 1000]", ErrOptions, o.Rate)
	case o.Duration <= 0 || o.Warmup < 0 || o.Every < 0 || o.Grace < 0 || o.Tail < 0:
		return fmt.Errorf("%w: a negative or zero duration", ErrOptions)
	case len(o.Modes) == 0:
		return fmt.Errorf("%w: no mode", ErrOptions)
	case t.Fault != "" && len(o.FaultCommand) == 0:
		return fmt.Errorf("%w: a fault (%s) and no fault command", ErrOptions, t.Fault)
	}
	for _, m := range o.Modes {
		if m != CookieMode && m != ServerMode {
			return fmt.Errorf("%w: mode %q", ErrOptions, m)
		}
	}
	return nil
}

// inject runs the fault command for fault and returns its window.
func inject(ctx context.Context, command []string, fault string) Window {
	w := Window{Fault: fault, Start: time.Now()}
	if len(command) == 0 {
		w.Err = errors.New("no fault command")
		w.Restored = time.Now()
		return w
	}
	fctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(fctx, command[0], append(command[1:], fault)...)
	out, err := cmd.CombinedOutput()
	w.Restored = time.Now()
	if err != nil {
		w.Err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return w
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

func modes(ms []Mode) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}
