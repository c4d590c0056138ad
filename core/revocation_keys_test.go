package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// luaNull stands for cjson.null, what lua-resty-session's cjson decodes a
// JSON null to: a light userdata, which is true in Lua.
type luaNull struct{}

// luaDecode decodes JSON as the reference's cjson.safe does, for the parts
// the reference reads: arrays and objects become tables ([]any and
// map[string]any here), null becomes cjson.null.
func luaDecode(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	var conv func(any) any
	conv = func(v any) any {
		switch v := v.(type) {
		case nil:
			return luaNull{}
		case []any:
			for i := range v {
				v[i] = conv(v[i])
			}
		case map[string]any:
			for k := range v {
				v[k] = conv(v[k])
			}
		}
		return v
	}
	return conv(v)
}

// luaTruthy is Lua's truth: everything but nil and false.
func luaTruthy(v any) bool { return v != nil && v != false }

// luaIndex is t[i] of a Lua array (1-based), nil past its end.
func luaIndex(t []any, i int) any {
	if i > len(t) {
		return nil
	}
	return t[i-1]
}

// referenceView is what lua-resty-session 4.1.5 makes of one entry, read
// the way its session.lua reads data[i] (v4.1.5, lib/resty/session.lua):
// the audience data[i][2] (open, the audience lookup), the subject
// data[i][3] (get_subject, get_property "subject"), whether the entry is
// indexed in the subject index (get_store_metadata: `if audience and
// subject`), and whether a Session-Subject header is sent
// (set_property_header: `if not value then return`).
type referenceView struct {
	data       any
	audience   any
	subject    any
	indexed    bool
	headerSent bool
}

func viewOf(entry []any) referenceView {
	v := referenceView{data: luaIndex(entry, 1), audience: luaIndex(entry, 2), subject: luaIndex(entry, 3)}
	v.indexed = luaTruthy(v.audience) && luaTruthy(v.subject)
	v.headerSent = luaTruthy(v.subject)
	return v
}

// TestRevocationKeysReadByReference checks the fourth element of an entry
// against the reference's rules: an entry with revocation keys gives
// lua-resty-session 4.1.5 the same data, audience and subject as the same
// entry without keys (byte for byte in its first elements), it is indexed
// and sends headers the same, and the reference's re-encoding of the
// decoded table gives back an entry that opens here with the same keys.
func TestRevocationKeysReadByReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		entry entry
	}{
		{"subject", entry{data: map[string]any{"user": "alice"}, audience: "shop", subject: "alice", hasSubject: true}},
		{"no subject", entry{data: map[string]any{"csrf": "x"}, audience: "shop"}},
		{"empty subject", entry{data: map[string]any{}, audience: "shop", subject: "", hasSubject: true}},
		{"empty data", entry{data: map[string]any{}, audience: "default", subject: "bob", hasSubject: true}},
	}
	keys := []string{"sid:https://idp.example#8f2c", "sub:https://idp.example#alice"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var plain, withKeys bytes.Buffer
			if err := encodeEntries(&plain, []entry{tt.entry}); err != nil {
				t.Fatal(err)
			}
			e := tt.entry
			e.keys = keys
			if err := encodeEntries(&withKeys, []entry{e}); err != nil {
				t.Fatal(err)
			}

			// Byte for byte: the entry with keys is the entry without, its
			// closing bracket replaced by the added elements.
			prefix := strings.TrimSuffix(plain.String(), "]]")
			if !strings.HasPrefix(withKeys.String(), prefix+",") {
				t.Fatalf("with keys %s does not extend without keys %s", withKeys.String(), plain.String())
			}

			ref := luaDecode(t, withKeys.Bytes()).([]any)[0].([]any)
			old := luaDecode(t, plain.Bytes()).([]any)[0].([]any)
			got, want := viewOf(ref), viewOf(old)
			if !reflect.DeepEqual(got.data, want.data) || got.audience != want.audience {
				t.Errorf("data, audience = %v, %v; want %v, %v", got.data, got.audience, want.data, want.audience)
			}
			if got.indexed != want.indexed || got.headerSent != want.headerSent {
				t.Errorf("indexed %v, header %v; want %v, %v (the reference takes false for a subject?)", got.indexed, got.headerSent, want.indexed, want.headerSent)
			}
			if tt.entry.hasSubject {
				if got.subject != want.subject {
					t.Errorf("subject %v, want %v", got.subject, want.subject)
				}
			} else if got.subject != false {
				t.Errorf("third element of an entry without subject = %#v, want false", got.subject)
			}

			// The reference writes the table back with cjson: the same
			// array, which this library opens with the keys.
			reencoded, err := json.Marshal([]any{fromLua(ref)})
			if err != nil {
				t.Fatal(err)
			}
			entries, err := decodeEntries(reencoded)
			if err != nil {
				t.Fatalf("decodeEntries(%s): %v", reencoded, err)
			}
			if !reflect.DeepEqual(entries[0].keys, keys) || entries[0].hasSubject != tt.entry.hasSubject ||
				entries[0].subject != tt.entry.subject || entries[0].audience != tt.entry.audience {
				t.Errorf("re-encoded by the reference, the entry opens as %+v", entries[0])
			}
		})
	}
}

// fromLua turns cjson.null back into JSON null.
func fromLua(v any) any {
	switch v := v.(type) {
	case luaNull:
		return nil
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = fromLua(v[i])
		}
		return out
	}
	return v
}

// TestRevocationKeysNullWouldBreakTheReference documents why the third
// place of a subject-less entry is false: JSON null there would be
// cjson.null, true in Lua, so the reference would index the session and
// send a Session-Subject header for a subject it does not have, and "" is
// true in Lua as well.
func TestRevocationKeysNullWouldBreakTheReference(t *testing.T) {
	t.Parallel()
	for _, third := range []string{`null`, `""`} {
		ref := luaDecode(t, []byte(`[{},"shop",`+third+`,["k"]]`)).([]any)
		if v := viewOf(ref); !v.indexed || !v.headerSent {
			t.Errorf("%s: the reference would not take it for a subject; this test's model is wrong", third)
		}
	}
	if v := viewOf(luaDecode(t, []byte(`[{},"shop",false,["k"]]`)).([]any)); v.indexed || v.headerSent {
		t.Error("false: the reference takes it for a subject")
	}
}

func TestDecodeEntriesFourthElement(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		subject string
		hasSub  bool
		keys    []string
		bad     bool
	}{
		{in: `[[{},"a","s",["k1","k2"]]]`, subject: "s", hasSub: true, keys: []string{"k1", "k2"}},
		{in: `[[{},"a",false,["k"]]]`, keys: []string{"k"}},
		{in: `[[{},"a",null,["k"]]]`, keys: []string{"k"}}, // the reference's set_subject(nil) re-encoded
		{in: `[[{},"a",false]]`},
		{in: `[[{},"a","s",[]]]`, subject: "s", hasSub: true},
		{in: `[[{},"a","s",{}]]`, subject: "s", hasSub: true}, // cjson's empty table
		{in: `[[{},"a","s",null]]`, subject: "s", hasSub: true},
		{in: `[[{},"a","s",[1]]]`, bad: true},
		{in: `[[{},"a","s","k"]]`, bad: true},
		{in: `[[{},"a","s",{"k":"v"}]]`, bad: true},
		{in: `[[{},"a",true,["k"]]]`, bad: true},
		{in: `[[{},"a","s",["k"],5]]`, bad: true},
	}
	for _, tt := range tests {
		entries, err := decodeEntries([]byte(tt.in))
		if tt.bad {
			if err == nil {
				t.Errorf("decodeEntries(%s) = %+v, want an error", tt.in, entries)
			}
			continue
		}
		if err != nil {
			t.Errorf("decodeEntries(%s): %v", tt.in, err)
			continue
		}
		e := entries[0]
		if e.subject != tt.subject || e.hasSubject != tt.hasSub || !reflect.DeepEqual(e.keys, tt.keys) {
			t.Errorf("decodeEntries(%s) = %+v", tt.in, e)
		}
	}
}

func TestSetRevocationKeys(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Remember: true, RememberSafety: "None"})
	s, r := h.request()
	s.SetSubject("alice")
	s.SetRevocationKeys("sid:idp#1", "sub:idp#alice", "sid:idp#1")
	if got := s.RevocationKeys(); !reflect.DeepEqual(got, []string{"sid:idp#1", "sub:idp#alice"}) {
		t.Fatalf("RevocationKeys = %q, want the keys without the duplicate", got)
	}
	s.RevocationKeys()[0] = "changed" // a copy
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	h.commit(r)

	s, err := h.open()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.RevocationKeys(); !reflect.DeepEqual(got, []string{"sid:idp#1", "sub:idp#alice"}) {
		t.Fatalf("after a save and an open: %q", got)
	}

	// A restore from the remember cookie keeps them.
	delete(h.jar, h.m.CookieName())
	s, r = h.request()
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	h.commit(r)
	if got := s.RevocationKeys(); len(got) != 2 {
		t.Fatalf("after a restore: %q", got)
	}

	// They belong to the audience's entry.
	s.SetAudience("other")
	if got := s.RevocationKeys(); len(got) != 2 {
		t.Fatalf("SetAudience dropped the keys: %q", got)
	}
	s.SetRevocationKeys()
	if got := s.RevocationKeys(); got != nil {
		t.Fatalf("SetRevocationKeys() left %q", got)
	}
	s.SetRevocationKeys("bad \xff key")
	if err := s.Save(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Save with an invalid UTF-8 key: %v, want ErrInvalid", err)
	}
	s.Close()
	s.SetRevocationKeys("k")
	if s.RevocationKeys() != nil {
		t.Fatal("a closed session has keys")
	}
}

// FuzzRevocationKeysRoundTrip: an entry with keys decodes to what was
// encoded, and its first elements are those of the entry without keys.
func FuzzRevocationKeysRoundTrip(f *testing.F) {
	f.Add("shop", "alice", true, "sid:idp#1", "sub:idp#alice")
	f.Add("default", "", false, "", "k")
	f.Add("a\"b", "\u00e9", true, "\x00", "[]")
	f.Fuzz(func(t *testing.T, audience, subject string, hasSubject bool, k1, k2 string) {
		e := entry{data: map[string]any{"k": "v"}, audience: audience, subject: subject, hasSubject: hasSubject}
		if !hasSubject {
			e.subject = ""
		}
		var plain bytes.Buffer
		if err := encodeEntries(&plain, []entry{e}); err != nil {
			return // invalid UTF-8: refused with or without keys
		}
		e.keys = []string{k1, k2}
		var withKeys bytes.Buffer
		if err := encodeEntries(&withKeys, []entry{e}); err != nil {
			return
		}
		if !strings.HasPrefix(withKeys.String(), strings.TrimSuffix(plain.String(), "]]")+",") {
			t.Fatalf("%s does not extend %s", withKeys.String(), plain.String())
		}
		got, err := decodeEntries(withKeys.Bytes())
		if err != nil {
			t.Fatalf("decodeEntries(%s): %v", withKeys.String(), err)
		}
		if g := got[0]; g.audience != e.audience || g.subject != e.subject || g.hasSubject != e.hasSubject || !reflect.DeepEqual(g.keys, e.keys) {
			t.Fatalf("round trip of %+v gave %+v", e, g)
		}
	})
}
