package store

import "testing"

func TestKey(t *testing.T) {
	tests := []struct {
		prefix, suffix string
		parts          []string
		want           string
	}{
		{"", "", []string{"session", "KEY"}, "session:KEY"},
		{"app", "", []string{"session", "KEY"}, "app:session:KEY"},
		{"", "v1", []string{"session", "KEY"}, "session:KEY:v1"},
		{"app", "v1", []string{"session", "YXVk", "c3Vi"}, "app:session:YXVk:c3Vi:v1"},
	}
	for _, tt := range tests {
		if got := Key(tt.prefix, tt.suffix, tt.parts...); got != tt.want {
			t.Errorf("Key(%q, %q, %q) = %q, want %q", tt.prefix, tt.suffix, tt.parts, got, tt.want)
		}
	}
}
