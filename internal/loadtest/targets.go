package loadtest

import "time"

// Profile is a named set of Options: Short for CI, Long by hand.
type Profile struct {
	// Name is "short" or "long".
	Name string
	// Options are the run's options, without FaultCommand, Dir and logs.
	Options Options
}

// Short is the profile .ci/run uses: about 30 s per store (one fault),
// four users per mode.
var Short = Profile{Name: "short", Options: Options{
	Users: 4, Rate: 8, Duration: 20 * time.Second, Warmup: 5 * time.Second,
	Grace: 10 * time.Second, Tail: 5 * time.Second, Modes: []Mode{CookieMode, ServerMode},
}}

// Long is the profile of scripts/load.sh long: two minutes per store, a
// fault every 30 s, twelve users per mode.
var Long = Profile{Name: "long", Options: Options{
	Users: 12, Rate: 8, Duration: 2 * time.Minute, Warmup: 10 * time.Second, Every: 30 * time.Second,
	Grace: 10 * time.Second, Tail: 10 * time.Second, Modes: []Mode{CookieMode, ServerMode},
}}

// StoreNames are the stores the harness knows, in the order it runs them.
var StoreNames = []string{"memory", "sqlite", "redis", "sentinel", "cluster", "memcached", "postgres", "mariadb"}

// Targets returns the targets named in stores, their addresses read with
// getenv from the variables scripts/faultsrv.sh writes
// (SESSIONGO_LOAD_REDIS, _SENTINEL, _CLUSTER, _MEMCACHED, _POSTGRES,
// _MARIADB); SQLite's databases go to dir. A store whose variable is empty
// is returned in missing, with the variable's name; an unknown name too.
//
// Acknowledged saves must survive (MustNotLose) on memory and SQLite (no
// fault: under load only), Sentinel (a replica acknowledges every save,
// WithWaitReplicas, before a master is killed), PostgreSQL and MariaDB
// (killed, then crash recovery). Single Redis without persistence and
// memcached lose everything when restarted, and in a Redis Cluster saves
// do not wait for replicas (the store ignores WithWaitReplicas there): for
// those the losses are reported only.
func Targets(stores []string, getenv func(string) string, dir string) (targets []Target, missing []string) {
	type known struct {
		env         string
		fault       string
		mustNotLose bool
		wait        int
	}
	table := map[string]known{
		"memory":    {"", "", true, 0},
		"sqlite":    {"", "", true, 0},
		"redis":     {"SESSIONGO_LOAD_REDIS", "redis-restart", false, 0},
		"sentinel":  {"SESSIONGO_LOAD_SENTINEL", "sentinel-failover", true, 1},
		"cluster":   {"SESSIONGO_LOAD_CLUSTER", "cluster-failover", false, 0},
		"memcached": {"SESSIONGO_LOAD_MEMCACHED", "memcached-stop", false, 0},
		"postgres":  {"SESSIONGO_LOAD_POSTGRES", "postgres-restart", true, 0},
		"mariadb":   {"SESSIONGO_LOAD_MARIADB", "mariadb-restart", true, 0},
	}
	for _, s := range stores {
		k, ok := table[s]
		if !ok {
			missing = append(missing, s+" (unknown store)")
			continue
		}
		t := Target{Store: s, Fault: k.fault, MustNotLose: k.mustNotLose, WaitReplicas: k.wait}
		switch {
		case s == "sqlite":
			t.Addr = dir
		case k.env != "":
			if t.Addr = getenv(k.env); t.Addr == "" {
				missing = append(missing, s+" ("+k.env+" is empty)")
				continue
			}
		}
		targets = append(targets, t)
	}
	return targets, missing
}
