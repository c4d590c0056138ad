package session

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The revocation options join the cases of TestParseConfig (which
// TestParseConfigCoversOptions requires for every option).
func init() {
	parseConfigCases = append(parseConfigCases, []struct {
		name string
		json string
		want Config
	}{
		{"revocation_fail_mode", `{"revocation_fail_mode": "open"}`, Config{RevocationFailMode: FailOpen}},
		{"revocation_cache_ttl", `{"revocation_cache_ttl": 5}`, Config{RevocationCacheTTL: 5 * time.Second}},
		{"revocation_cache_error_ttl", `{"revocation_cache_error_ttl": 2}`, Config{RevocationCacheErrorTTL: 2 * time.Second}},
		{"revocation_error_cache_ttl, the reference's name", `{"revocation_error_cache_ttl": 3}`, Config{RevocationCacheErrorTTL: 3 * time.Second}},
		{"revocation cache TTLs of 0 cache nothing", `{"revocation_cache_ttl": 0, "revocation_error_cache_ttl": 0}`, Config{}},
		{"revocation_cache_size", `{"revocation_cache_size": 500}`, Config{RevocationCacheSize: 500}},
		{"the revocation backend and its section are skipped", `{"revocation": "redis", "redis": {"host": "r"},
			"revocation_fail_mode": "closed"}`, Config{RevocationFailMode: FailClosed}},
		{"a custom revocation backend's section is skipped", `{"revocation": "my-denylist", "my-denylist": {"x": 1}}`, Config{}},
		{"revocation false", `{"revocation": false}`, Config{}},
	}...)
}

func TestParseConfigRevocationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json, want string
	}{
		{"fail mode not a string", `{"revocation_fail_mode": true}`, "revocation_fail_mode: want a string"},
		{"negative cache TTL", `{"revocation_cache_ttl": -1}`, "revocation_cache_ttl: -1 is negative"},
		{"fractional cache TTL", `{"revocation_cache_ttl": 0.5}`, "want a whole number"},
		{"error TTL under both names", `{"revocation_cache_error_ttl": 1, "revocation_error_cache_ttl": 2}`, "also given as revocation_cache_error_ttl"},
		{"negative cache size", `{"revocation_cache_size": -3}`, "revocation_cache_size: -3 is negative"},
		{"huge cache size", `{"revocation_cache_size": 1e12}`, "out of range"},
		{"custom section without revocation", `{"my-denylist": {}}`, "my-denylist: unknown option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseConfig([]byte(tt.json))
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseConfig(%s) = %v, want ErrInvalidConfig with %q", tt.json, err, tt.want)
			}
		})
	}
	// An unknown mode passes ParseConfig's form check; New refuses it.
	cfg, err := ParseConfig([]byte(`{"secret": "s", "revocation_fail_mode": "half-open"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("New with revocation_fail_mode half-open: %v", err)
	}
}
