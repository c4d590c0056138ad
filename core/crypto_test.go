package session

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"fmt"
	"testing"
)

// The allocation-free HKDF and HMAC must agree with the standard library.
func TestKeyDerivationMatchesStdlib(t *testing.T) {
	ikm := sha256.Sum256([]byte("secret"))
	k := newKeyMaterial(ikm[:])
	prk, _ := hkdf.Extract(sha256.New, ikm[:], nil)
	for i := 0; i < 20; i++ {
		sid := sha256.Sum256([]byte(fmt.Sprint(i)))
		want, _ := hkdf.Expand(sha256.New, prk, "encryption:"+string(sid[:]), keyIVSize)
		got, err := k.encryptionKey(sid[:], 0)
		if err != nil || !bytes.Equal(got[:], want) {
			t.Fatalf("encryption key %d = %x, want %x", i, got, want)
		}
		wantPB, _ := pbkdf2.Key(sha256.New, string(ikm[:]), append([]byte("encryption:"), sid[:]...), 1000, keyIVSize)
		if got, _ := k.encryptionKey(sid[:], 1000); !bytes.Equal(got[:], wantPB) {
			t.Fatalf("pbkdf2 key %d = %x, want %x", i, got, wantPB)
		}
		macKey, _ := hkdf.Expand(sha256.New, prk, "authentication:"+string(sid[:]), 32)
		header := bytes.Repeat([]byte{byte(i)}, headerMACSize)
		bind := sha256.Sum256([]byte("192.0.2.1|https|ua"))
		for _, b := range []*[32]byte{nil, &bind} {
			h := hmac.New(sha256.New, macKey)
			h.Write(header)
			if b != nil {
				h.Write([]byte("#"))
				h.Write(b[:])
			}
			want := h.Sum(nil)[:macSize]
			if got := k.mac(sid[:], header, b); !bytes.Equal(got[:], want) {
				t.Fatalf("mac %d (bind %v) = %x, want %x", i, b != nil, got, want)
			}
		}
	}
}

func TestKeyDerivationAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	ikm := sha256.Sum256([]byte("secret"))
	k := newKeyMaterial(ikm[:])
	sid := make([]byte, 32)
	header := make([]byte, headerMACSize)
	allocs := testing.AllocsPerRun(100, func() {
		k.encryptionKey(sid, 0)
		k.mac(sid, header, nil)
	})
	if allocs != 0 {
		t.Fatalf("key derivation allocates %v times", allocs)
	}
}
