package loadtest

import (
	"errors"
	"math"
	"testing"
	"time"
)

// TestRunOptions checks that Run refuses options it cannot run with,
// before it starts anything.
func TestRunOptions(t *testing.T) {
	t.Parallel()
	ok := Short.Options
	ok.FaultCommand = []string{"true"}
	for _, tt := range []struct {
		name   string
		change func(o *Options)
		fault  string
	}{
		{"no users", func(o *Options) { o.Users = 0 }, ""},
		{"no rate", func(o *Options) { o.Rate = 0 }, ""},
		{"a negative rate", func(o *Options) { o.Rate = -1 }, ""},
		{"a rate that is not a number", func(o *Options) { o.Rate = math.NaN() }, ""},
		{"too fast", func(o *Options) { o.Rate = 1e6 }, ""},
		{"no duration", func(o *Options) { o.Duration = 0 }, ""},
		{"a negative grace", func(o *Options) { o.Grace = -time.Second }, ""},
		{"no mode", func(o *Options) { o.Modes = nil }, ""},
		{"an unknown mode", func(o *Options) { o.Modes = []Mode{"disk"} }, ""},
		{"a fault without a command", func(o *Options) { o.FaultCommand = nil }, "redis-restart"},
	} {
		o := ok
		tt.change(&o)
		_, err := Run(t.Context(), "/nonexistent/app", Target{Store: "memory", Fault: tt.fault}, o)
		if !errors.Is(err, ErrOptions) {
			t.Errorf("%s: %v, want ErrOptions", tt.name, err)
		}
	}
	// Valid options get past the check: the app is what fails here.
	if _, err := Run(t.Context(), "/nonexistent/app", Target{Store: "memory"}, ok); err == nil || errors.Is(err, ErrOptions) {
		t.Errorf("valid options: %v, want the app's error", err)
	}
}
