package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"hash"
	"sync"
)

// Key schedule. Every session id gets its own AES-256-GCM key and
// nonce and its own HMAC key, all derived from the 32-byte initial keying
// material (ikm):
//
//	prk      = HKDF-Extract(SHA-256, salt = "", ikm)         once per ikm
//	key||iv  = HKDF-Expand(prk, "encryption:" || sid, 44)    or PBKDF2 for remember cookies
//	mac key  = HKDF-Expand(prk, "authentication:" || sid, 32)
//	mac      = HMAC-SHA256(mac key, header[:66] [|| "#" || SHA-256(bind)])[:16]
//
// The HMACs here run over stack buffers with sha256.Sum256, so deriving keys
// and computing a MAC allocate nothing.

const (
	ikmSize   = 32
	sidSize   = 32
	keyIVSize = 44 // AES-256 key (32) + GCM nonce (12)
	macSize   = 16
	tagSize   = 16
)

// keyMaterial is one ikm with its HKDF pseudorandom key, computed once, and
// the SHA-256 states of HMAC(prk) after its key blocks, so that each
// HKDF-Expand block costs two compressions fewer.
type keyMaterial struct {
	ikm        []byte
	prk        [32]byte
	innerState []byte // marshaled SHA-256 state after prk XOR ipad
	outerState []byte // marshaled SHA-256 state after prk XOR opad
	pool       sync.Pool
	remember   *keyCache // PBKDF2 keys of remember cookies, shared by a Manager's keys
}

// prkHMAC is a pair of SHA-256 digests restored to the keyed states.
type prkHMAC struct {
	inner, outer hash.Hash
	buf          [128]byte
}

func newKeyMaterial(ikm []byte) *keyMaterial {
	k := &keyMaterial{ikm: append([]byte(nil), ikm...)}
	prk, err := hkdf.Extract(sha256.New, k.ikm, nil)
	if err != nil { // cannot happen for SHA-256 and a 32-byte ikm
		panic("session: hkdf extract: " + err.Error())
	}
	copy(k.prk[:], prk)
	inner, outer := hmacPads(k.prk[:])
	k.innerState = keyedState(inner[:])
	k.outerState = keyedState(outer[:])
	k.pool.New = func() any { return &prkHMAC{inner: sha256.New(), outer: sha256.New()} }
	return k
}

func keyedState(pad []byte) []byte {
	h := sha256.New()
	h.Write(pad)
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic("session: sha256 state: " + err.Error())
	}
	return state
}

// prkSum computes HMAC-SHA256(prk, a || b || c); len(a)+len(b)+len(c) <= 128.
func (k *keyMaterial) prkSum(a, b, c []byte) (sum [32]byte) {
	h := k.pool.Get().(*prkHMAC)
	n := copy(h.buf[:], a)
	n += copy(h.buf[n:], b)
	n += copy(h.buf[n:], c)
	if err := h.inner.(encoding.BinaryUnmarshaler).UnmarshalBinary(k.innerState); err != nil {
		panic("session: sha256 state: " + err.Error())
	}
	h.inner.Write(h.buf[:n])
	inner := h.inner.Sum(h.buf[:0])
	if err := h.outer.(encoding.BinaryUnmarshaler).UnmarshalBinary(k.outerState); err != nil {
		panic("session: sha256 state: " + err.Error())
	}
	h.outer.Write(inner)
	copy(sum[:], h.outer.Sum(h.buf[:0]))
	k.pool.Put(h)
	return sum
}

func hmacPads(key []byte) (inner, outer [64]byte) {
	copy(inner[:], key)
	copy(outer[:], key)
	for i := range inner {
		inner[i] ^= 0x36
		outer[i] ^= 0x5c
	}
	return inner, outer
}

// hmacSHA256 computes HMAC-SHA256 of the concatenation of msg parts with the
// pads of a key of at most 64 bytes. The message must be short (at most 192
// bytes), as all of ours are.
func hmacSHA256(inner, outer *[64]byte, a, b, c []byte) [32]byte {
	var buf [64 + 192]byte
	n := copy(buf[:], inner[:])
	n += copy(buf[n:], a)
	n += copy(buf[n:], b)
	n += copy(buf[n:], c)
	sum := sha256.Sum256(buf[:n])
	n = copy(buf[:], outer[:])
	n += copy(buf[n:], sum[:])
	return sha256.Sum256(buf[:n])
}

var (
	counter1           = []byte{1}
	infoEncryption     = []byte("encryption:")
	infoAuthentication = []byte("authentication:")
)

// expand is HKDF-Expand (RFC 5869) for up to 64 bytes of output.
func (k *keyMaterial) expand(dst []byte, info, sid []byte) {
	t1 := k.prkSum(info, sid, counter1)
	n := copy(dst, t1[:])
	if n == len(dst) {
		return
	}
	var second [sidSize + 16 + 1]byte
	m := copy(second[:], info)
	m += copy(second[m:], sid)
	second[m] = 2
	t2 := k.prkSum(t1[:], second[:m+1], nil)
	copy(dst[n:], t2[:])
}

// encryptionKey derives the AES-256 key and GCM nonce of sid. iterations 0
// means HKDF; otherwise PBKDF2-HMAC-SHA256 with that many iterations, whose
// result is kept in the remember key cache (callers pass only the id of a
// verified cookie or a new one).
func (k *keyMaterial) encryptionKey(sid []byte, iterations int) ([keyIVSize]byte, error) {
	var out [keyIVSize]byte
	if iterations == 0 {
		k.expand(out[:], infoEncryption, sid)
		return out, nil
	}
	ck := keyCacheKey{k: k, iterations: iterations}
	copy(ck.sid[:], sid)
	if k.remember != nil {
		if out, ok := k.remember.get(ck); ok {
			return out, nil
		}
		k.remember.derivations.Add(1)
	}
	salt := make([]byte, 0, len(infoEncryption)+len(sid))
	salt = append(append(salt, infoEncryption...), sid...)
	b, err := pbkdf2.Key(sha256.New, string(k.ikm), salt, iterations, keyIVSize)
	if err != nil {
		return out, err
	}
	copy(out[:], b)
	if k.remember != nil {
		k.remember.put(ck, out)
	}
	return out, nil
}

// mac computes the 16-byte MAC of a header, with the SHA-256 of the bind
// string appended when bind is not nil.
func (k *keyMaterial) mac(sid, header []byte, bind *[32]byte) [macSize]byte {
	var macKey [32]byte
	k.expand(macKey[:], infoAuthentication, sid)
	inner, outer := hmacPads(macKey[:])
	var sum [32]byte
	if bind != nil {
		var suffix [33]byte
		suffix[0] = '#'
		copy(suffix[1:], bind[:])
		sum = hmacSHA256(&inner, &outer, header, suffix[:], nil)
	} else {
		sum = hmacSHA256(&inner, &outer, header, nil, nil)
	}
	var mac [macSize]byte
	copy(mac[:], sum[:])
	return mac
}

func newGCM(keyIV *[keyIVSize]byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(keyIV[:32])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal encrypts plaintext into dst (which must have room for len(plaintext)
// + tagSize bytes) and returns the ciphertext without the tag, and the tag.
func seal(keyIV *[keyIVSize]byte, dst, plaintext, aad []byte) (ciphertext []byte, tag [tagSize]byte, err error) {
	aead, err := newGCM(keyIV)
	if err != nil {
		return nil, tag, err
	}
	out := aead.Seal(dst[:0], keyIV[32:], plaintext, aad)
	n := len(out) - tagSize
	copy(tag[:], out[n:])
	return out[:n], tag, nil
}

// open decrypts ciphertextAndTag in place.
func open(keyIV *[keyIVSize]byte, ciphertextAndTag, aad []byte) ([]byte, error) {
	aead, err := newGCM(keyIV)
	if err != nil {
		return nil, err
	}
	return aead.Open(ciphertextAndTag[:0], keyIV[32:], ciphertextAndTag, aad)
}

func equalMAC(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
