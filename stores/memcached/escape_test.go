package memcachedstore

import (
	"strings"
	"testing"
)

// uriComponent is the table ngx.escape_uri uses (lua-nginx-module's
// uri_component, the same from 0.10.9 to today, and in 0.10.23, which
// recorded the store vectors): bit c%32 of word c/32 is set when byte c is
// escaped.
var uriComponent = [8]uint32{
	0xffffffff, 0xfc00987d, 0x78000001, 0xb8000001,
	0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
}

// TestEscapeEveryByte checks every byte a key can contain against the
// reference's table: the same bytes escaped, as '%' and two upper-case hex
// digits, the others kept.
func TestEscapeEveryByte(t *testing.T) {
	t.Parallel()
	const hex = "0123456789ABCDEF"
	for c := range 256 {
		in := "a" + string([]byte{byte(c)}) + "z"
		want := "a" + string([]byte{byte(c)}) + "z"
		if uriComponent[c>>5]&(1<<(c&31)) != 0 {
			want = "a%" + string(hex[c>>4]) + string(hex[c&15]) + "z"
		}
		if got := escapeKey(in); got != want {
			t.Errorf("escapeKey(%q) = %q, want %q", in, got, want)
		}
		if got := escapedLen(in); got != len(want) {
			t.Errorf("escapedLen(%q) = %d, want %d", in, got, len(want))
		}
	}
}

// TestEscapedKeys checks names the reference wrote in the store vectors and
// the properties the store relies on: an escaped key is a legal memcached
// key whenever it is short enough, and holds no raw ':', which every name of
// the store's own items holds.
func TestEscapedKeys(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"storeref:sr_memc_login:zNqLg0GygW7PLpTGsgWR97GWucWpAXGQTVN2CISqDjs", "storeref%3Asr_memc_login%3AzNqLg0GygW7PLpTGsgWR97GWucWpAXGQTVN2CISqDjs"},
		{"storeref:sr_memc_aud:YXBwLWI:alice@example.com", "storeref%3Asr_memc_aud%3AYXBwLWI%3Aalice%40example.com"},
		{"a b\x00\xff%", "a%20b%00%FF%25"},
		{"", ""},
	} {
		if got := escapeKey(tt.in); got != tt.want {
			t.Errorf("escapeKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var all strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
	}
	e := escapeKey(all.String())
	if strings.Contains(e, ":") {
		t.Errorf("escaped key %q holds a raw ':'", e)
	}
	for len(e) > 0 {
		n := min(len(e), maxKeyLen)
		if !legalKey(e[:n]) {
			t.Errorf("part of an escaped key is not a legal memcached key: %q", e[:n])
		}
		e = e[n:]
	}
	s := &Store{prefix: "p", suffix: "s"}
	long := s.IndexKey("n", "YXVk", strings.Repeat("A", 300))
	for _, k := range []string{s.pointerKey("n", "k"), s.groupKey("g"), s.RevokedKey("sid:x"), long} {
		if !strings.Contains(k, ":") {
			t.Errorf("name %q of a store item holds no raw ':'", k)
		}
	}
}
