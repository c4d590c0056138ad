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
}

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
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseJSON(%q) = %#v, encoding/json: %#v", data, got, want)
	}
	wantBytes, err := stdEncode(want)
	if err != nil {
		return
	}
	gotBytes, err := appendJSON(nil, got)
	if err != nil || !bytes.Equal(gotBytes, wantBytes) {
		t.Fatalf("appendJSON(%#v) = %s (%v), encoding/json: %s", got, gotBytes, err, wantBytes)
	}
}

// FuzzJSON is a differential fuzz test: parseJSON and appendJSON must agree
// with encoding/json on every input.
func FuzzJSON(f *testing.F) {
	for _, seed := range jsonSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkJSONAgainstStd(t, data) })
}
