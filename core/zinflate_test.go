package session

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"testing"
)

// flateInflate is what compress/flate makes of src, bounded as inflate is.
func flateInflate(src []byte, limit int) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(src))
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(out) > limit {
		return nil, errInflateTooLarge
	}
	return out, nil
}

// sameAsFlate fails unless zinflate and compress/flate agree on src: the
// same bytes, or both an error. (Which error may differ for a stream that
// is both past the limit and corrupt further on: compress/flate may see the
// corruption first, as it decodes ahead of what it returns.)
func sameAsFlate(t *testing.T, name string, src []byte, limit int) {
	t.Helper()
	want, werr := flateInflate(src, limit)
	got, gerr := zinflate([]byte("prefix"), src, limit)
	switch {
	case (werr == nil) != (gerr == nil):
		t.Fatalf("%s: zinflate error %v, compress/flate error %v", name, gerr, werr)
	case werr == nil && !bytes.Equal(got[len("prefix"):], want):
		t.Fatalf("%s: zinflate wrote %d bytes, compress/flate %d", name, len(got)-len("prefix"), len(want))
	}
}

func deflateWith(t testing.TB, level int, plain []byte) []byte {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	return b.Bytes()
}

// TestZinflateCorpus: every item of the deflate corpus, deflated as zlib
// does and at compress/flate's levels (stored, Huffman only, fastest,
// default, best), inflates back, and every truncation of it fails as it
// does with compress/flate.
func TestZinflateCorpus(t *testing.T) {
	t.Parallel()
	for _, it := range deflateCorpus() {
		var z bytes.Buffer
		zdeflate(&z, it.plain)
		streams := map[string][]byte{"zlib": z.Bytes()}
		for _, level := range []int{flate.NoCompression, flate.HuffmanOnly, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
			streams["level"+string(rune('0'+level+2))] = deflateWith(t, level, it.plain)
		}
		for kind, s := range streams {
			got, err := zinflate(nil, s, len(it.plain))
			if err != nil || !bytes.Equal(got, it.plain) {
				t.Fatalf("%s/%s: %v", it.name, kind, err)
			}
			if _, err := zinflate(nil, s, len(it.plain)-1); len(it.plain) > 0 && !errors.Is(err, errInflateTooLarge) {
				t.Fatalf("%s/%s: one byte under the limit: %v, want errInflateTooLarge", it.name, kind, err)
			}
		}
		// Truncations, and one flipped bit, at a few places.
		s := z.Bytes()
		for _, n := range []int{0, 1, 2, len(s) / 3, len(s) / 2, len(s) - 2, len(s) - 1} {
			sameAsFlate(t, it.name+"/truncated", s[:max(n, 0)], len(it.plain))
			flipped := bytes.Clone(s)
			flipped[min(n, len(s)-1)] ^= 0x10
			sameAsFlate(t, it.name+"/flipped", flipped, len(it.plain))
		}
	}
}

// TestZinflateEdges: hand-made streams at the edges of the format, each
// decoded as compress/flate decodes it.
func TestZinflateEdges(t *testing.T) {
	t.Parallel()
	// bw writes a stream bit by bit, least significant first.
	type bw struct {
		out   []byte
		acc   uint64
		nbits uint
	}
	put := func(w *bw, v uint64, n uint) {
		w.acc |= v << w.nbits
		w.nbits += n
		for w.nbits >= 8 {
			w.out = append(w.out, byte(w.acc))
			w.acc >>= 8
			w.nbits -= 8
		}
	}
	done := func(w *bw) []byte {
		if w.nbits > 0 {
			w.out = append(w.out, byte(w.acc))
		}
		return w.out
	}
	// dyn writes a dynamic block header with the given counts and code
	// length code lengths (3 bits each, in the format's order), then raw.
	dyn := func(final uint64, hlit, hdist, hclen uint64, clens []uint64, tail func(w *bw)) []byte {
		w := &bw{}
		put(w, final, 1)
		put(w, 2, 2)
		put(w, hlit, 5)
		put(w, hdist, 5)
		put(w, hclen, 4)
		for _, l := range clens {
			put(w, l, 3)
		}
		if tail != nil {
			tail(w)
		}
		return done(w)
	}
	fixedLit := func(w *bw, sym int) { // the fixed code of a literal below 144
		code := uint64(0x30 + sym)
		var rev uint64
		for i := range 8 {
			rev |= (code >> i & 1) << (7 - i)
		}
		put(w, rev, 8)
	}
	fixed := func(final uint64, body func(w *bw)) []byte {
		w := &bw{}
		put(w, final, 1)
		put(w, 1, 2)
		body(w)
		return done(w)
	}
	eob := func(w *bw) { put(w, 0, 7) } // fixed code 256: seven zero bits
	cases := map[string][]byte{
		"empty":                 {},
		"reserved block type":   {0x07},
		"stored":                {0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c'},
		"stored bad nlen":       {0x01, 0x03, 0x00, 0xfc, 0xfe, 'a', 'b', 'c'},
		"stored short":          {0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b'},
		"stored empty":          {0x01, 0x00, 0x00, 0xff, 0xff},
		"stored then trailing":  {0x01, 0x01, 0x00, 0xfe, 0xff, 'a', 0xde, 0xad},
		"stored not final only": {0x00, 0x01, 0x00, 0xfe, 0xff, 'a'},
		"fixed literals": fixed(1, func(w *bw) {
			fixedLit(w, 'a')
			eob(w)
		}),
		"fixed eob only": fixed(1, eob),
		"fixed no eob":   fixed(1, func(w *bw) { fixedLit(w, 1) }),
		"fixed distance too far": fixed(1, func(w *bw) {
			fixedLit(w, 1)
			put(w, 0x40, 7) // length code 257 (0000001): length 3
			put(w, 0x14, 5) // distance code 5 (00101): 7 or 8
			put(w, 0, 1)
			eob(w)
		}),
		"fixed distance code 30": fixed(1, func(w *bw) {
			fixedLit(w, 1)
			put(w, 0x40, 7)
			put(w, 0x0f, 5) // distance code 30 (11110)
			eob(w)
		}),
		"fixed overlapping match": fixed(1, func(w *bw) {
			fixedLit(w, 1)
			put(w, 0x40, 7) // length 3
			put(w, 0, 5)    // distance code 0: 1
			eob(w)
		}),
		"dynamic too many literals":      dyn(1, 30, 0, 0, nil, nil),
		"dynamic too many distances":     dyn(1, 0, 30, 0, nil, nil),
		"dynamic empty code length code": dyn(1, 0, 0, 0, []uint64{0, 0, 0, 0}, nil),
		"dynamic oversubscribed":         dyn(1, 0, 0, 0, []uint64{1, 1, 1, 1}, nil),
		"dynamic repeat first": dyn(1, 0, 0, 0, []uint64{1, 0, 0, 1}, func(w *bw) {
			put(w, 0, 1) // symbol 16 first: nothing to repeat
			put(w, 0, 2)
		}),
		"dynamic truncated header": dyn(1, 0, 0, 15, []uint64{2, 2}, nil),
	}
	for name, src := range cases {
		for _, limit := range []int{0, 1, 3, 1 << 10} {
			sameAsFlate(t, name, src, limit)
		}
	}
	// A dynamic block from compress/flate with one distance code, and one
	// of zlib's with several blocks, round trip.
	for _, plain := range [][]byte{
		bytes.Repeat([]byte("abcabcabd"), 100),
		bytes.Repeat([]byte{0}, 70000),
	} {
		for _, level := range []int{1, 6, 9, flate.HuffmanOnly} {
			sameAsFlate(t, "round trip", deflateWith(t, level, plain), len(plain))
		}
		var z bytes.Buffer
		zdeflate(&z, plain)
		sameAsFlate(t, "zlib round trip", z.Bytes(), len(plain))
	}
}

// FuzzZinflate: zinflate agrees with compress/flate on any input.
func FuzzZinflate(f *testing.F) {
	f.Add([]byte{0x4b, 0x4c, 0x4a, 0x06, 0x00}, uint16(100))
	f.Add([]byte{0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c'}, uint16(2))
	f.Add(deflateWith(f, flate.BestSpeed, bytes.Repeat([]byte("session data "), 40)), uint16(1000))
	var z bytes.Buffer
	zdeflate(&z, []byte(`[[{"user":"alice","blob":"`+string(bytes.Repeat([]byte("xyz"), 400))+`"},"default"]]`))
	f.Add(z.Bytes(), uint16(5000))
	f.Fuzz(func(t *testing.T, src []byte, limit uint16) {
		sameAsFlate(t, "fuzz", src, int(limit))
	})
}

func BenchmarkInflate(b *testing.B) {
	data := benchCorpusItem(b, "tokens-2000")
	var z bytes.Buffer
	zdeflate(&z, data)
	b.Run("zinflate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out, buf, err := inflateTemp(z.Bytes(), len(data))
			if err != nil || len(out) != len(data) {
				b.Fatal(err)
			}
			releaseInflated(buf, out)
		}
	})
	b.Run("compress-flate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := flateInflate(z.Bytes(), len(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchCorpusItem(b *testing.B, name string) []byte {
	for _, it := range deflateCorpus() {
		if it.name == name {
			return it.plain
		}
	}
	b.Fatalf("no corpus item %s", name)
	return nil
}
