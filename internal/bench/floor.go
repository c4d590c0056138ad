package bench

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
)

// floor is the standard-library work of one encrypted session cookie, done
// the plain way: JSON for the data, HKDF-Expand for the encryption key and
// the MAC key, AES-256-GCM, HMAC-SHA256 over a header, base64url. It is the
// same floor as core's BenchmarkFloor*.
type floor struct {
	prk    []byte
	sid    []byte
	header []byte
}

func newFloor() *floor {
	ikm := sha256.Sum256([]byte("benchmark-secret"))
	prk, _ := hkdf.Extract(sha256.New, ikm[:], nil)
	return &floor{prk: prk, sid: make([]byte, 32), header: make([]byte, 82)}
}

func (f *floor) keys() (keyIV, macKey []byte) {
	keyIV, _ = hkdf.Expand(sha256.New, f.prk, "encryption:"+string(f.sid), 44)
	macKey, _ = hkdf.Expand(sha256.New, f.prk, "authentication:"+string(f.sid), 32)
	return keyIV, macKey
}

func (f *floor) mac(macKey []byte) []byte {
	h := hmac.New(sha256.New, macKey)
	h.Write(f.header[:66])
	return h.Sum(nil)
}

// seal is the floor of a save: JSON, keys, GCM, MAC, base64.
func (f *floor) seal(data any) (string, error) {
	plaintext, err := json.Marshal([]any{[]any{data, "default"}})
	if err != nil {
		return "", err
	}
	keyIV, macKey := f.keys()
	block, err := aes.NewCipher(keyIV[:32])
	if err != nil {
		return "", err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	ciphertext := aead.Seal(nil, keyIV[32:], plaintext, f.header[:47])
	f.mac(macKey)
	return base64.RawURLEncoding.EncodeToString(f.header) + base64.RawURLEncoding.EncodeToString(ciphertext), nil
}

var errFloor = errors.New("floor: bad cookie")

// open is the floor of an open: base64, keys, MAC, GCM, JSON.
func (f *floor) open(cookie string) (map[string]any, error) {
	if len(cookie) < 110 {
		return nil, errFloor
	}
	header, err := base64.RawURLEncoding.DecodeString(cookie[:110])
	if err != nil {
		return nil, err
	}
	ciphertext, err := base64.RawURLEncoding.DecodeString(cookie[110:])
	if err != nil {
		return nil, err
	}
	keyIV, macKey := f.keys()
	_ = hmac.Equal(f.mac(macKey), header[66:]) // the floor's header carries no real MAC
	block, err := aes.NewCipher(keyIV[:32])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(nil, keyIV[32:], ciphertext, f.header[:47])
	if err != nil {
		return nil, err
	}
	var entries [][]any
	if err := json.Unmarshal(plaintext, &entries); err != nil {
		return nil, err
	}
	if len(entries) != 1 || len(entries[0]) != 2 {
		return nil, errFloor
	}
	data, ok := entries[0][0].(map[string]any)
	if !ok {
		return nil, errFloor
	}
	return data, nil
}

// floorOp returns the floor of w: a seal of new data, an open of a cookie,
// or both for an update.
func floorOp(w Work) (func() error, error) {
	f := newFloor()
	data := w.data()
	cookie, err := f.seal(data)
	if err != nil {
		return nil, err
	}
	switch w {
	case New:
		return func() error { _, err := f.seal(w.data()); return err }, nil
	case Read, LargeRead:
		return func() error {
			d, err := f.open(cookie)
			if err == nil && d["user"] != "alice" {
				err = errFloor
			}
			return err
		}, nil
	default:
		return func() error {
			d, err := f.open(cookie)
			if err != nil {
				return err
			}
			n, _ := d["n"].(float64)
			d["n"] = n + 1
			_, err = f.seal(d)
			return err
		}, nil
	}
}
