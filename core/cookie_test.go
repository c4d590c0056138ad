package session

import (
	"strings"
	"testing"
)

// bytewiseNextCookie is the tokenizer as it was before cookieScanner: one
// pass over the bytes of the first pair. cookieScanner must split every
// header the same way.
func bytewiseNextCookie(header string) (name, value string, hasValue bool, sep byte, rest string) {
	eq := -1
	i := 0
	for ; i < len(header); i++ {
		c := header[i]
		if c == ';' || c == ',' {
			sep, rest = c, header[i+1:]
			break
		}
		if c == '=' && eq < 0 {
			eq = i
		}
	}
	pair := header[:i]
	if eq < 0 {
		return trimBlank(pair), "", false, sep, rest
	}
	return trimBlank(pair[:eq]), trimBlank(pair[eq+1:]), true, sep, rest
}

// checkScanner compares cookieScanner with bytewiseNextCookie on header.
func checkScanner(t *testing.T, header string) {
	t.Helper()
	sc := newCookieScanner(header)
	for rest, i := header, 0; rest != ""; i++ {
		name, value, hasValue, sep, next := bytewiseNextCookie(rest)
		rest = next
		if !sc.more() {
			t.Fatalf("%q: the scanner ended before pair %d", header, i)
		}
		gn, gv, gh, gs := sc.next()
		if gn != name || gv != value || gh != hasValue || gs != sep || sc.rest() != rest {
			t.Fatalf("%q, pair %d: scanner %q %q %v %q rest %q; want %q %q %v %q rest %q",
				header, i, gn, gv, gh, gs, sc.rest(), name, value, hasValue, sep, rest)
		}
	}
	if sc.more() {
		t.Fatalf("%q: the scanner has more after the last pair: %q", header, sc.rest())
	}
}

func TestCookieScanner(t *testing.T) {
	t.Parallel()
	for _, h := range []string{
		"",
		"a=1",
		"a=1; b=2",
		"a=1;b=2;",
		"a=1, b=2; c=3,d=4",
		" ; ;=;session",
		"flag; a = 1 ; =x; y=; z==2",
		"a=1,,;;b=2",
		";",
		",",
		"a",
		"\t a=b\r\n ;c=d\v",
		"session=abc; remember=def, session2=ghi",
		strings.Repeat("a=1,", 1000) + "b=2;" + strings.Repeat("c;", 1000),
		strings.Repeat(";", 100) + strings.Repeat(",", 100),
	} {
		checkScanner(t, h)
	}
}

func FuzzCookieScanner(f *testing.F) {
	f.Add("a=1; session=x; flag; session2=y; b=2")
	f.Add(" ; ;=;session")
	f.Add("a=1, SESSION=x ,b = 2")
	f.Fuzz(checkScanner)
}
