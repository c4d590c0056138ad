package session

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

var jsonSeeds = []string{
	`{"user":"alice","n":42,"f":-1.5e-7,"big":1e21,"t":true,"z":null,"a":[1,"x",{"k":[]}]}`,
	`"\u00e9\ud83d\ude00\ud800x\\\/\b\f\n\r\t\"\u2028<>&"`,
	`[1e999]`, `[01]`, `[1.]`, `{"a":1,}`, `"\x"`, "\"a\x01\"", `"\xff\xfe"`, ` [ ] `, `{"a":1}x`,
	`-0`, `0.000001`, `123456789012345678901234567890`, `{"a":{"a":{"a":{}}}}`, `"\uD834"`, `"\uDD1E\uD834"`,
	// numbers a float64 would change, kept as their text
	`[9007199254740993,-9223372036854775808,18446744073709551615,1.0,1.5e-07,1E2,-0.0,1e+20,0.10]`,
	`{"exact":[0.1,1e-7,1e21,100000000000000000000,123456789012345,1234567890123456]}`,
	`-`, `1e`, `1e+`, `0x1`, ``,
}

func stdEncode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func TestJSONMatchesEncodingJSON(t *testing.T) {
	for _, seed := range jsonSeeds {
		checkJSONAgainstStd(t, []byte(seed))
	}
	for _, f := range []float64{0, 1, -1, 0.1, 1e20, 1e21, 1e-6, 1e-7, 123456789, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		got, err := appendFloat(nil, f)
		want, _ := stdEncode(f)
		if err != nil || string(got) != string(want) {
			t.Errorf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
	if _, err := appendJSON(nil, math.NaN()); err == nil {
		t.Error("NaN encoded")
	}
	type custom struct{ A int }
	got, err := appendJSON(nil, map[string]any{"c": custom{1}, "i": 3, "l": int64(4)})
	if err != nil || string(got) != `{"c":{"A":1},"i":3,"l":4}` {
		t.Errorf("fallback encoding = %s, %v", got, err)
	}
	for _, v := range []any{
		int64(math.MinInt64), int32(math.MinInt32), uint(math.MaxUint), uint32(math.MaxUint32), uint64(math.MaxUint64),
		json.Number("9007199254740993"), json.Number("1.0"), json.Number(""),
		[]any{json.Number("-1e-7"), uint64(1) << 63},
	} {
		got, err := appendJSON(nil, v)
		want, _ := stdEncode(v)
		if err != nil || string(got) != string(want) {
			t.Errorf("appendJSON(%#v) = %s (%v), encoding/json: %s", v, got, err, want)
		}
	}
	for _, n := range []string{"abc", "01", "1.", "+1", " 1", "1e", "NaN"} {
		checkNumberAgainstStd(t, n)
	}
}

// checkJSONAgainstStd compares parseJSON and appendJSON with encoding/json:
// parseJSON accepts what encoding/json.Unmarshal into an any accepts; it
// returns what encoding/json returns with UseNumber, except that a number
// whose text is encoding/json's own formatting of its float64 is that
// float64; compatValue of it is what Unmarshal into an any returns; and
// appendJSON writes it back as encoding/json writes the UseNumber value:
// every number with its text unchanged.
func checkJSONAgainstStd(t *testing.T, data []byte) {
	t.Helper()
	var want any
	wantErr := json.Unmarshal(data, &want)
	got, gotErr := parseJSON(data)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("parseJSON(%q) error = %v, encoding/json: %v", data, gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	var exact any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&exact); err != nil {
		t.Fatalf("encoding/json with UseNumber fails on %q: %v", data, err)
	}
	if wantExact := stdNumbers(t, exact); !reflect.DeepEqual(got, wantExact) {
		t.Fatalf("parseJSON(%q) = %#v, want %#v", data, got, wantExact)
	}
	if compat := compatValue(got); !reflect.DeepEqual(compat, want) {
		t.Fatalf("compatValue(parseJSON(%q)) = %#v, encoding/json: %#v", data, compat, want)
	}
	wantBytes, err := stdEncode(exact)
	if err != nil {
		t.Fatalf("encoding/json cannot encode what it decoded from %q: %v", data, err)
	}
	gotBytes, err := appendJSON(nil, got)
	if err != nil || !bytes.Equal(gotBytes, wantBytes) {
		t.Fatalf("appendJSON(%#v) = %s (%v), encoding/json: %s", got, gotBytes, err, wantBytes)
	}
}

// stdNumbers turns the json.Numbers of v whose text encoding/json writes for
// their float64 into that float64, as parseJSON does.
func stdNumbers(t *testing.T, v any) any {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			t.Fatalf("json.Number %q: %v", v, err)
		}
		if text, err := stdEncode(f); err == nil && string(text) == string(v) {
			return f
		}
		return v
	case []any:
		for i := range v {
			v[i] = stdNumbers(t, v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = stdNumbers(t, v[k])
		}
	}
	return v
}

// checkNumberAgainstStd compares appendJSON of a json.Number with
// encoding/json's encoding of it: the same text, or both an error.
func checkNumberAgainstStd(t *testing.T, text string) {
	t.Helper()
	want, wantErr := stdEncode(json.Number(text))
	got, gotErr := appendJSON(nil, json.Number(text))
	if (wantErr == nil) != (gotErr == nil) || wantErr == nil && !bytes.Equal(got, want) {
		t.Fatalf("appendJSON(json.Number(%q)) = %s (%v), encoding/json: %s (%v)", text, got, gotErr, want, wantErr)
	}
}

// FuzzJSON is a differential fuzz test: parseJSON and appendJSON must agree
// with encoding/json on every input (see checkJSONAgainstStd), and so must
// the encoding of the input as a json.Number.
func FuzzJSON(f *testing.F) {
	for _, seed := range jsonSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkJSONAgainstStd(t, data)
		checkNumberAgainstStd(t, string(data))
	})
}
