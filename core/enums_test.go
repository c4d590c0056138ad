package session

import (
	"strings"
	"testing"
)

// TestEnumsAccepted: New accepts every constant of the enumerations, and
// the reference's alternative spellings; the unknown values are in
// TestNewValidates.
func TestEnumsAccepted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   Config
		attrs string // in the session cookie's attributes, when set
	}{
		{"SameSiteLax", Config{CookieSameSite: SameSiteLax}, "; SameSite=Lax;"},
		{"SameSiteStrict", Config{CookieSameSite: SameSiteStrict}, "; SameSite=Strict;"},
		{"SameSiteNone", Config{CookieSameSite: SameSiteNone, DisableSecure: true}, "; SameSite=None; Secure"},
		{"SameSiteDefault", Config{CookieSameSite: SameSiteDefault}, "; SameSite=Default;"},
		{"untyped SameSite", Config{CookieSameSite: "Strict"}, "; SameSite=Strict;"},
		{"PriorityLow", Config{CookiePriority: PriorityLow}, "; Priority=Low"},
		{"PriorityMedium", Config{CookiePriority: PriorityMedium}, "; Priority=Medium"},
		{"PriorityHigh", Config{CookiePriority: PriorityHigh}, "; Priority=High"},
		{"PrefixHost", Config{CookiePrefix: PrefixHost, CookiePath: "/app"}, "; Path=/;"},
		{"PrefixSecure", Config{CookiePrefix: PrefixSecure, DisableSecure: true}, "; Secure"},
		{"SafetyNone", Config{RememberSafety: SafetyNone}, ""},
		{"SafetyLow", Config{RememberSafety: SafetyLow}, ""},
		{"SafetyMedium", Config{RememberSafety: SafetyMedium}, ""},
		{"SafetyHigh", Config{RememberSafety: SafetyHigh}, ""},
		{"SafetyVeryHigh", Config{RememberSafety: SafetyVeryHigh}, ""},
		{"bindings", Config{Bind: []Binding{BindIP, BindScheme, BindUserAgent}}, ""},
		{"user_agent", Config{Bind: []Binding{"user_agent"}}, ""},
		{"properties", Config{
			RequestHeaders:  []Property{PropertyID, PropertyAudience, PropertySubject, PropertyTimeout},
			ResponseHeaders: []Property{PropertyIdlingTimeout, PropertyRollingTimeout, PropertyAbsoluteTimeout},
		}, ""},
		{"properties with _", Config{RequestHeaders: []Property{"idling_timeout", "rolling_timeout", "absolute_timeout"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Secret = "enums test secret"
			m, err := New(tt.cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if tt.attrs != "" && !strings.Contains(m.attrs+";", tt.attrs) {
				t.Errorf("cookie attributes %q, want %q in them", m.attrs, tt.attrs)
			}
		})
	}
	if got := DefaultConfig(); got.CookieSameSite != SameSiteLax || got.RememberSafety != SafetyMedium {
		t.Errorf("DefaultConfig: SameSite %q, RememberSafety %q", got.CookieSameSite, got.RememberSafety)
	}
	if len(rememberSafety) != 5 {
		t.Errorf("%d remember safety levels, want the 5 constants", len(rememberSafety))
	}
}
