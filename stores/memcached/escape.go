package memcachedstore

// Key escaping. lua-resty-memcached, the client of the reference's memcached
// storage, passes every key through ngx.escape_uri before sending it, so a
// record named "app:session:KEY" lives in memcached under
// "app%3Asession%3AKEY". The store escapes the names it shares with the
// reference (records and subject index lists) the same way, byte for byte,
// so that both libraries address the same items.
//
// ngx.escape_uri escapes a URI component: every byte but the ASCII letters
// and digits and - . _ ~ ! ' ( ) * becomes '%' and two upper-case hex
// digits. lua-nginx-module has used that table since 0.10.9 (2017); the
// reference needs LuaJIT's string.buffer, so OpenResty 1.21.4 or later, and
// every such release (and Kong's) has it. An escaped key holds no ':' (it becomes
// %3A), no space and no control character, so memcached accepts it as long
// as it is at most 250 bytes. The store's own items (group pointers and
// lists, revocation marks) keep a raw ':' in their names, so none of them
// can ever have the name of an item the reference reads or writes.

// unescaped marks the bytes ngx.escape_uri leaves as they are.
var unescaped = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~!'()*" {
		t[c] = true
	}
	return t
}()

// escapedLen returns the length of s escaped.
func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if !unescaped[s[i]] {
			n += 2
		}
	}
	return n
}

// escapeKey returns s escaped as ngx.escape_uri escapes it.
func escapeKey(s string) string {
	n := escapedLen(s)
	if n == len(s) {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unescaped[c] {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&0xf])
		}
	}
	return string(b)
}
