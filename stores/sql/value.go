package sqlstore

import (
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"
)

// Records are text, as lua-resty-session keeps them (its data column is
// TEXT, MEDIUMTEXT in ASCII): the session library writes a JSON array of
// base64url strings, which the store saves as it is, so that both libraries
// read each other's rows. The Store contract takes any bytes, though, so a
// value that is not printable ASCII text (or that starts with the escape
// prefix itself) is saved as the prefix and its standard base64, which
// every column type holds and which Get turns back into the same bytes. The
// session library never writes such a value; lua-resty-session would not
// read one.
const escapePrefix = "base64:"

// encodeValue returns the text saved for value.
func encodeValue(value []byte) string {
	if plainText(value) && !strings.HasPrefix(string(value), escapePrefix) {
		return string(value)
	}
	return escapePrefix + base64.StdEncoding.EncodeToString(value)
}

// decodeValue returns the value saved as text. A NULL (a row written by
// another program with the reference's nullable columns) reads as no
// record.
func decodeValue(text sql.NullString) ([]byte, bool, error) {
	if !text.Valid {
		return nil, false, nil
	}
	if rest, ok := strings.CutPrefix(text.String, escapePrefix); ok {
		v, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, false, fmt.Errorf("sqlstore: a record's escaped value is not base64: %w", err)
		}
		return v, true, nil
	}
	return []byte(text.String), true, nil
}

// plainText reports whether every byte of v is printable ASCII, a tab, a
// line feed or a carriage return: text that PostgreSQL's TEXT, MySQL's
// ASCII MEDIUMTEXT and SQLite's TEXT all hold as it is.
func plainText(v []byte) bool {
	for _, c := range v {
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// Widths of the key columns: a storage key is 43 base64url characters
// (32 bytes, or their SHA-256), the reference's CHAR(43); a cookie name
// fits its VARCHAR(255).
const (
	maxKey  = 43
	maxName = 255
)

// validKey reports whether key can be a storage key: 1 to 43 base64url
// characters. The store refuses to write any other key (a longer one would
// not fit MySQL's CHAR(43), and would be cut short without strict mode)
// and reads none.
func validKey(key string) bool {
	if len(key) == 0 || len(key) > maxKey {
		return false
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// validName reports whether name can be a cookie name: 1 to 255 printable
// ASCII characters other than the space.
func validName(name string) bool {
	if len(name) == 0 || len(name) > maxName {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// validRecord reports whether name and key can name a record.
func validRecord(name, key string) bool { return validName(name) && validKey(key) }
