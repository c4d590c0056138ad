package session

import (
	"os"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps core free of third-party modules.
func TestStandardLibraryOnly(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "require" {
			t.Fatalf("core/go.mod requires a module (%q): core must stay standard library only", line)
		}
	}
}
