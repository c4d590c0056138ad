package session

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
)

// The deflate corpus: session plaintexts of the kinds a session carries
// (tokens, text, records, ids, numbers, non-ASCII text, several audiences),
// from just above the compression threshold to past the nine-cookie limit.
// It is generated, not stored: testdata/deflate-zlib-sizes.json holds only
// what zlib makes of each item (scripts/zlib-sizes.py), and the generator
// must stay as it is for those sizes to hold. It uses the PCG source's
// numbers only (their sequence is specified), never math/rand's helpers.

type corpusItem struct {
	name  string
	plain []byte
	data  map[string]any // the data of a plaintext of one audience, "default"
}

type corpusRand struct{ *rand.PCG }

func newCorpusRand(name string) corpusRand {
	var seed uint64 = 14695981039346656037 // FNV-1a of the item's name
	for i := 0; i < len(name); i++ {
		seed ^= uint64(name[i])
		seed *= 1099511628211
	}
	return corpusRand{rand.NewPCG(seed, 14)}
}

func (r corpusRand) n(n int) int { return int(r.Uint64() % uint64(n)) }

func (r corpusRand) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint64())
	}
	return b
}

var corpusWords = strings.Fields(`the of and to a in is you that it he was for on are as with his
they I at be this have from or one had by word but not what all were we when your can said there
use an each which she do how their if will up other about out many then them these so some her
would make like him into time has look two more write go see number no way could people my than
first water been call who oil its now find long down day did get come made may part order cart
session user account admin payment address street city country shipping invoice total price`)

// words is text of about n bytes from a small vocabulary, the first words
// far more frequent than the last.
func (r corpusRand) words(n int) string {
	var b strings.Builder
	for b.Len() < n {
		i := r.n(len(corpusWords))
		i = i * r.n(len(corpusWords)) / len(corpusWords) // skew towards the start
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(corpusWords[i])
	}
	return b.String()
}

func (r corpusRand) b64(n int) string { return base64.RawURLEncoding.EncodeToString(r.bytes(n)) }

// jwt is a signed token of about n claims bytes: base64url of JSON, as
// OpenID Connect tokens in a session are.
func (r corpusRand) jwt(n int) string {
	claims := fmt.Sprintf(`{"iss":"https://idp.example.com/realms/main","aud":"client-%d","sub":"%s","iat":%d,"exp":%d,"nonce":"%s","scope":"%s"`,
		r.n(100), hex.EncodeToString(r.bytes(16)), 1700000000+r.n(1e6), 1700003600+r.n(1e6), r.b64(24), r.words(40))
	for len(claims) < n {
		claims += fmt.Sprintf(`,"%s_%d":"%s"`, corpusWords[r.n(len(corpusWords))], r.n(1000), r.words(10+r.n(60)))
	}
	claims += "}"
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"`+r.b64(16)+`"}`)) +
		"." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + "." + r.b64(256)
}

// corpusData builds the session data of one kind at about size bytes.
func corpusData(kind string, size int, r corpusRand) map[string]any {
	d := map[string]any{"user": "u" + fmt.Sprint(r.n(1e6))}
	switch kind {
	case "tokens": // OpenID Connect: tokens and user info
		for i, n := 0, 0; n < size; i++ {
			d[fmt.Sprintf("id_token_%d", i)] = r.jwt(300 + r.n(1200))
			d[fmt.Sprintf("access_token_%d", i)] = r.jwt(200 + r.n(800))
			d[fmt.Sprintf("refresh_token_%d", i)] = r.b64(32 + r.n(64))
			n = approxSize(d)
		}
	case "noise": // random base64url: what compresses least
		d["blob"] = r.b64(size * 3 / 4)
	case "blocks": // random blocks, some repeated
		var b strings.Builder
		var seen []string
		for b.Len() < size {
			if len(seen) > 0 && r.n(3) == 0 {
				b.WriteString(seen[r.n(len(seen))])
				continue
			}
			s := r.b64(12 + r.n(80))
			seen = append(seen, s)
			b.WriteString(s)
		}
		d["blob"] = b.String()
	case "cart": // records with the same keys
		var items []any
		for n := 0; n < size; n += approxSize(items[len(items)-1]) + 1 {
			items = append(items, map[string]any{
				"sku":      fmt.Sprintf("SKU-%06d", r.n(1e6)),
				"name":     r.words(8 + r.n(40)),
				"qty":      float64(1 + r.n(9)),
				"price":    float64(r.n(100000)) / 100,
				"currency": []string{"EUR", "USD", "GBP"}[r.n(3)],
				"gift":     r.n(4) == 0,
			})
		}
		d["items"] = items
	case "text": // prose
		d["note"] = r.words(size)
	case "ids": // hex ids
		var ids []any
		for n := 0; n < size; n += approxSize(ids[len(ids)-1]) + 1 {
			ids = append(ids, hex.EncodeToString(r.bytes(16+r.n(2)*16)))
		}
		d["ids"] = ids
	case "numbers":
		var ns []any
		for n := 0; n < size; n += approxSize(ns[len(ns)-1]) + 1 {
			if r.n(2) == 0 {
				ns = append(ns, float64(r.n(1e9)))
			} else {
				ns = append(ns, float64(r.n(1e7))/1000)
			}
		}
		d["ns"] = ns
	case "unicode": // two- and three-byte UTF-8
		const alphabets = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя的一是不了人我在有他这为之大来以个中上们αβγδεζηθικλμνξοπρστυφχψω"
		letters := []rune(alphabets)
		var b strings.Builder
		for b.Len() < size {
			for range 2 + r.n(8) {
				b.WriteRune(letters[r.n(len(letters))*r.n(len(letters))/len(letters)])
			}
			b.WriteByte(' ')
		}
		d["text"] = b.String()
	case "repeat": // like the reference's "compressed" vector
		d["text"] = strings.Repeat("hello world ", size/12)
	default:
		panic("unknown corpus kind " + kind)
	}
	return d
}

// approxSize is the length of v in JSON.
func approxSize(v any) int {
	b, err := appendJSON(nil, v)
	if err != nil {
		panic(err)
	}
	return len(b)
}

var corpusKinds = []string{"tokens", "noise", "blocks", "cart", "text", "ids", "numbers", "unicode", "repeat"}

// corpusSizes are plaintext sizes, from above the compression threshold to
// past what nine cookies hold.
var corpusSizes = []int{1100, 2000, 4000, 8000, 16000, 30000, 45000, 70000, 100000}

// corpusLimit are data that zlib compresses into nine cookies and the
// compress/flate writer of earlier versions (BestSpeed) did not.
var corpusLimit = []struct {
	kind string
	size int
}{{"text", 84000}, {"tokens", 52000}, {"unicode", 56000}, {"cart", 120000}, {"blocks", 48000}}

// corpusOver are data that zlib does not compress into nine cookies and the
// compress/flate writer of earlier versions (BestSpeed) does.
var corpusOver = []struct {
	kind string
	size int
}{{"ids", 49000}, {"numbers", 55000}}

// deflateCorpus returns the corpus: session plaintexts of each kind and
// size, of one audience or, for every third size, of three audiences with
// subjects; then the near-limit data (limit-* and over-*, one audience
// whose data is data); then inputs that take zlib's less common paths (edge-*:
// stored blocks, runs, matches across the window, the largest input).
func deflateCorpus() []corpusItem {
	var items []corpusItem
	add := func(name string, entries []entry) {
		var b bytes.Buffer
		if err := encodeEntries(&b, entries); err != nil {
			panic(err)
		}
		it := corpusItem{name: name, plain: b.Bytes()}
		if len(entries) == 1 {
			it.data = entries[0].data
		}
		items = append(items, it)
	}
	for _, kind := range corpusKinds {
		for i, size := range corpusSizes {
			name := fmt.Sprintf("%s-%d", kind, size)
			r := newCorpusRand(name)
			if i%3 != 2 {
				add(name, []entry{{data: corpusData(kind, size, r), audience: "default"}})
				continue
			}
			var entries []entry
			for a := range 3 {
				entries = append(entries, entry{data: corpusData(kind, size/3, r), audience: fmt.Sprintf("app%d", a),
					subject: fmt.Sprintf("user-%d@example.com", r.n(1e4)), hasSubject: true})
			}
			add(name, entries)
		}
	}
	for _, l := range corpusLimit {
		name := fmt.Sprintf("limit-%s-%d", l.kind, l.size)
		add(name, []entry{{data: corpusData(l.kind, l.size, newCorpusRand(name)), audience: "default"}})
	}
	for _, o := range corpusOver {
		name := fmt.Sprintf("over-%s-%d", o.kind, o.size)
		add(name, []entry{{data: corpusData(o.kind, o.size, newCorpusRand(name)), audience: "default"}})
	}
	r := newCorpusRand("edge")
	random := r.bytes(100000)
	text := []byte(r.words(maxCookieInflatedSize))
	for _, e := range []struct {
		name  string
		plain []byte
	}{
		{"edge-empty", nil},
		{"edge-one", []byte("x")},
		{"edge-three", []byte("abc")},
		{"edge-zeros-300", make([]byte, 300)},
		{"edge-zeros-200000", make([]byte, 200000)}, // runs of 258 at distance 1, window slides
		{"edge-random-100000", random},              // stored blocks
		{"edge-random-twice", append(append([]byte(nil), random[:40000]...), random[:40000]...)}, // a copy too far back
		{"edge-random-near", append(append([]byte(nil), random[:30000]...), random[:30000]...)},  // a copy within the window
		{"edge-text-max", text[:maxCookieInflatedSize]},
	} {
		items = append(items, corpusItem{name: e.name, plain: e.plain})
	}
	return items
}
