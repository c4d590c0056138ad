package session

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

type typedCart struct {
	Items []string          `json:"items"`
	Total int64             `json:"total"`
	When  time.Time         `json:"when"`
	Tags  map[string]uint64 `json:"tags,omitempty"`
	Raw   []byte            `json:"raw"`
}

// typedCase sets a value and decodes it: decode returns the result as an
// any, for comparison.
type typedCase struct {
	name   string
	set    any
	decode func(s *Session) (any, error)
	want   any
}

func decodeAs[T any](s *Session) (any, error) { return Get[T](s, "v") }

var typedWhen = time.Date(2024, 2, 29, 13, 14, 15, 123456789, time.FixedZone("", 2*3600))

var typedCases = []typedCase{
	{"int as int", 1, decodeAs[int], 1},
	{"int as float64", 1, decodeAs[float64], 1.0},
	{"int as any", 1, decodeAs[any], 1.0},
	{"int as json.Number", 42, decodeAs[json.Number], json.Number("42")},
	{"float64 as int", 42.0, decodeAs[int], 42},
	{"float64 as json.Number", 0.1, decodeAs[json.Number], json.Number("0.1")},
	{"int64 beyond 2^53", int64(9007199254740993), decodeAs[int64], int64(9007199254740993)},
	{"min int64", int64(math.MinInt64), decodeAs[int64], int64(math.MinInt64)},
	{"max uint64", uint64(math.MaxUint64), decodeAs[uint64], uint64(math.MaxUint64)},
	{"max uint64 as json.Number", uint64(math.MaxUint64), decodeAs[json.Number], json.Number("18446744073709551615")},
	{"json.Number text", json.Number("1.0"), decodeAs[json.Number], json.Number("1.0")},
	{"json.Number as float64", json.Number("1.5e-07"), decodeAs[float64], 1.5e-07},
	{"float64", 0.1, decodeAs[float64], 0.1},
	{"max float64", math.MaxFloat64, decodeAs[float64], math.MaxFloat64},
	{"time.Time", typedWhen, decodeAs[time.Time], typedWhen},
	{"time.Time as string", typedWhen, decodeAs[string], "2024-02-29T13:14:15.123456789+02:00"},
	{"[]byte", []byte{0, 1, 0xfe, 0xff}, decodeAs[[]byte], []byte{0, 1, 0xfe, 0xff}},
	{"[]byte as string", []byte("hi"), decodeAs[string], "aGk="},
	{"struct", typedCart{Items: []string{"book"}, Total: 1 << 60, When: typedWhen, Tags: map[string]uint64{"x": math.MaxUint64}, Raw: []byte("r")},
		decodeAs[typedCart], typedCart{Items: []string{"book"}, Total: 1 << 60, When: typedWhen, Tags: map[string]uint64{"x": math.MaxUint64}, Raw: []byte("r")}},
	{"struct as map", typedCart{Total: 3}, decodeAs[map[string]any],
		map[string]any{"items": nil, "total": 3.0, "when": "0001-01-01T00:00:00Z", "raw": nil}},
	{"[]any of ints", []any{1, int64(1) << 62}, decodeAs[[]int64], []int64{1, 1 << 62}},
	{"string", "alice", decodeAs[string], "alice"},
	{"bool", true, decodeAs[bool], true},
	{"pointer", &typedCart{Total: 7}, decodeAs[*typedCart], &typedCart{Total: 7}},
}

// TestDecodeSameInEveryRequest checks that Decode and Get[T] return the
// same value in the request that set it, in the next one (read from the
// cookie or the store), and after that request saved the data again.
func TestDecodeSameInEveryRequest(t *testing.T) {
	for _, storage := range []string{"cookie", "memory store"} {
		t.Run(storage, func(t *testing.T) {
			for _, tc := range typedCases {
				t.Run(tc.name, func(t *testing.T) {
					cfg := Config{}
					if storage != "cookie" {
						cfg.Store = newTestMemoryStore(t)
					}
					h := newHarness(t, cfg)
					check := func(when string, s *Session) {
						t.Helper()
						got, err := tc.decode(s)
						if err != nil || !typedEqual(got, tc.want) {
							t.Fatalf("%s: got %#v (%v), want %#v", when, got, err, tc.want)
						}
					}
					s, r := h.request()
					s.Set("v", tc.set)
					check("in the request that set it", s)
					if err := s.Save(); err != nil {
						t.Fatal(err)
					}
					check("after Save", s)
					h.commit(r)

					s, err := h.open()
					if err != nil {
						t.Fatal(err)
					}
					check("in the next request", s)
					s, r = h.request()
					if err := s.Open(); err != nil {
						t.Fatal(err)
					}
					s.Set("other", "x") // the value is saved again as it was read
					if err := s.Save(); err != nil {
						t.Fatal(err)
					}
					h.commit(r)
					s, err = h.open()
					if err != nil {
						t.Fatal(err)
					}
					check("after a later request saved it again", s)
				})
			}
		})
	}
}

func typedEqual(got, want any) bool {
	if w, ok := want.(time.Time); ok {
		g, ok := got.(time.Time)
		return ok && g.Equal(w) && g.Format(time.RFC3339Nano) == w.Format(time.RFC3339Nano)
	}
	if w, ok := want.(typedCart); ok {
		g, ok := got.(typedCart)
		if !ok || !g.When.Equal(w.When) {
			return false
		}
		g.When, w.When = time.Time{}, time.Time{}
		return reflect.DeepEqual(g, w)
	}
	return reflect.DeepEqual(got, want)
}

func TestDecodeErrors(t *testing.T) {
	h := newHarness(t, Config{})
	s, _ := h.request()
	s.Set("s", "text")
	s.Set("f", 3.5)
	s.Set("big", 1e300)
	s.Set("neg", -1)
	s.Set("ch", make(chan int))
	s.Set("bad", "\xff")
	s.Data()["null"] = nil

	var n int
	var u uint8
	tests := []struct {
		name string
		key  string
		v    any
		want error
	}{
		{"missing", "nope", &n, ErrNotFound},
		{"nil value", "null", &n, ErrNotFound},
		{"string into int", "s", &n, ErrInvalid},
		{"fraction into int", "f", &n, ErrInvalid},
		{"out of range", "big", &n, ErrInvalid},
		{"negative into uint", "neg", &u, ErrInvalid},
		{"not a pointer", "s", n, ErrInvalid},
		{"nil pointer", "s", (*int)(nil), ErrInvalid},
		{"cannot encode", "ch", &n, ErrInvalid},
		{"invalid UTF-8", "bad", new(string), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Decode(tt.key, tt.v)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(%q) = %v, want an error matching %v", tt.key, err, tt.want)
			}
		})
	}
	var typeErr *json.UnmarshalTypeError
	if err := s.Decode("s", &n); !errors.As(err, &typeErr) {
		t.Errorf("Decode of a string into an int: %v, want it to wrap *json.UnmarshalTypeError", err)
	}
	if v, err := Get[int](s, "f"); v != 0 || err == nil {
		t.Errorf("Get[int] of 3.5 = %d, %v; want 0 and an error", v, err)
	}
	s.Close()
	if err := s.Decode("s", new(string)); !errors.Is(err, ErrClosed) {
		t.Errorf("Decode on a closed session: %v, want ErrClosed", err)
	}
}

// TestExactNumbers checks the number representation: numbers a float64
// would change are kept as json.Number in the data and written back
// unchanged, while Get returns float64 as it always did.
func TestExactNumbers(t *testing.T) {
	h := newHarness(t, Config{})
	s, r := h.request()
	s.Set("big", int64(9007199254740993))
	s.Set("n", 42)
	s.Set("list", []any{uint64(math.MaxUint64), "x", map[string]any{"deep": int64(-9007199254740995)}})
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	h.commit(r)

	s, err := h.open()
	if err != nil {
		t.Fatal(err)
	}
	data := s.Data()
	if data["big"] != json.Number("9007199254740993") || data["n"] != 42.0 {
		t.Errorf("Data holds big = %#v, n = %#v; want json.Number and float64", data["big"], data["n"])
	}
	if got := s.Get("big"); got != float64(9007199254740993) {
		t.Errorf("Get(big) = %#v, want float64 as before", got)
	}
	wantList := []any{float64(math.MaxUint64), "x", map[string]any{"deep": float64(-9007199254740995)}}
	if got := s.Get("list"); !reflect.DeepEqual(got, wantList) {
		t.Errorf("Get(list) = %#v, want %#v", got, wantList)
	}
	if _, ok := data["list"].([]any)[0].(json.Number); !ok {
		t.Error("Get converted the session's own list instead of a copy")
	}

	var b strings.Builder
	plain := getBuf()
	defer putBuf(plain)
	if err := encodeEntries(plain, s.entries); err != nil {
		t.Fatal(err)
	}
	b.Write(plain.Bytes())
	for _, text := range []string{`"big":9007199254740993`, `18446744073709551615`, `"deep":-9007199254740995`, `"n":42`} {
		if !strings.Contains(b.String(), text) {
			t.Errorf("the plaintext saved again %s does not hold %s", b.String(), text)
		}
	}
}

// checkScalar compares decodeValue (with decodeScalar) with the round trip
// through encoding/json for value into a new T: the same value, or errors
// both.
func checkScalar[T any](t *testing.T, value any) {
	t.Helper()
	var fast, slow T
	ferr := decodeValue(value, &fast)
	serr := roundTrip(value, &slow)
	if (ferr == nil) != (serr == nil) || (ferr != nil && ferr.Error() != serr.Error()) {
		t.Fatalf("%T %#v into %T: error %v, the round trip's %v", value, value, fast, ferr, serr)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%T %#v into %T: %#v, the round trip gives %#v", value, value, fast, fast, slow)
	}
	if f, ok := any(fast).(float64); ok && math.Signbit(f) != math.Signbit(any(slow).(float64)) {
		t.Fatalf("%#v into float64: sign of %v, the round trip's %v", value, fast, slow)
	}
}

// TestDecodeScalar: the fast path of Decode for scalars reads exactly what
// encoding/json's round trip reads, and fails where it fails.
func TestDecodeScalar(t *testing.T) {
	t.Parallel()
	values := []any{
		nil, true, false, "", "alice", "tab\there \"quoted\" \\ \u2028 é", "\xff invalid", "42",
		0.0, math.Copysign(0, -1), 1.0, -1.0, 3.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125,
		9007199254740993.0, 9.223372036854775807e18, -9.223372036854775808e18, math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.Inf(1), math.NaN(),
		json.Number("9007199254740993"), json.Number("-9223372036854775808"), json.Number("9223372036854775808"),
		json.Number("1.0"), json.Number("1e3"), json.Number("-0"), json.Number(""), json.Number("1e400"), json.Number("01"), json.Number("+1"), json.Number("0x10"),
		0, 7, int64(math.MaxInt64), int64(math.MinInt64), int32(-5), uint(7), uint32(8), uint64(math.MaxUint64),
		[]any{1.0}, map[string]any{"a": 1.0},
	}
	for _, v := range values {
		checkScalar[string](t, v)
		checkScalar[bool](t, v)
		checkScalar[int64](t, v)
		checkScalar[int](t, v)
		checkScalar[float64](t, v)
	}
	// A nil pointer of a fast type: encoding/json's error, not a panic.
	for _, target := range []any{(*string)(nil), (*bool)(nil), (*int64)(nil), (*int)(nil), (*float64)(nil)} {
		if err := decodeValue("x", target); err == nil {
			t.Errorf("decode into %T(nil): no error", target)
		}
		if err := decodeValue(1.0, target); err == nil {
			t.Errorf("decode into %T(nil): no error", target)
		}
	}
}

func FuzzDecodeScalar(f *testing.F) {
	f.Add(1.5, "text", int64(3))
	f.Add(1e21, "\xff", int64(-1))
	f.Fuzz(func(t *testing.T, x float64, s string, n int64) {
		for _, v := range []any{x, s, n, json.Number(s)} {
			checkScalar[string](t, v)
			checkScalar[bool](t, v)
			checkScalar[int64](t, v)
			checkScalar[int](t, v)
			checkScalar[float64](t, v)
		}
	})
}
