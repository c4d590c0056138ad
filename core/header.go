package session

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// The 82-byte header, all integers little endian:
//
//	off size field
//	  0    1 type (1)
//	  1    2 flags
//	  3   32 session id
//	 35    5 creation time (unix seconds)
//	 40    4 rolling offset (seconds from creation to the last save)
//	 44    3 data size (base64url characters of the ciphertext)
//	 47   16 AES-GCM tag                    (header[:47] is the AAD)
//	 63    3 idling offset (seconds from the last save to the last touch)
//	 66   16 MAC over header[:66]
const (
	headerSize        = 82
	headerEncodedSize = 110 // base64url, no padding
	headerAADSize     = 47  // type .. data size
	headerTouchSize   = 63  // ... tag
	headerMACSize     = 66  // ... idling offset

	cookieType = 1

	maxCreationTime  = 1<<40 - 1
	maxRollingOffset = 1<<32 - 1
	maxIdlingOffset  = 1<<24 - 1
	maxDataSize      = 1<<24 - 1
	maxTTL           = 34560000 // 400 days, the longest Max-Age browsers keep

	maxCookieSize = 4096
	maxCookies    = 9
)

// b64 is strict base64url without padding: non-zero unused trailing bits are
// rejected, so that every change of a character is detected.
var b64 = base64.RawURLEncoding.Strict()

type header struct {
	flags         uint16
	sid           [sidSize]byte
	creationTime  int64
	rollingOffset int64
	dataSize      int
	tag           [tagSize]byte
	idlingOffset  int64
	mac           [macSize]byte
}

func put24(b []byte, v uint32) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }
func get24(b []byte) uint32    { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 }

// marshal writes the header into b. Callers have checked the ranges.
func (h *header) marshal(b *[headerSize]byte) {
	b[0] = cookieType
	binary.LittleEndian.PutUint16(b[1:3], h.flags)
	copy(b[3:35], h.sid[:])
	c := uint64(h.creationTime)
	b[35], b[36], b[37], b[38], b[39] = byte(c), byte(c>>8), byte(c>>16), byte(c>>24), byte(c>>32)
	binary.LittleEndian.PutUint32(b[40:44], uint32(h.rollingOffset))
	put24(b[44:47], uint32(h.dataSize))
	copy(b[47:63], h.tag[:])
	put24(b[63:66], uint32(h.idlingOffset))
	copy(b[66:82], h.mac[:])
}

// unmarshal reads a header; b is 82 bytes and its type byte was checked.
func (h *header) unmarshal(b []byte) {
	h.flags = binary.LittleEndian.Uint16(b[1:3])
	copy(h.sid[:], b[3:35])
	h.creationTime = int64(b[35]) | int64(b[36])<<8 | int64(b[37])<<16 | int64(b[38])<<24 | int64(b[39])<<32
	h.rollingOffset = int64(binary.LittleEndian.Uint32(b[40:44]))
	h.dataSize = int(get24(b[44:47]))
	copy(h.tag[:], b[47:63])
	h.idlingOffset = int64(get24(b[63:66]))
	copy(h.mac[:], b[66:82])
}

// decodeHeader decodes and unmarshals the header at the start of a cookie
// value, checking its length, its base64url and its type (in that
// order) but not its MAC.
func decodeHeader(value string, raw *[headerSize]byte, h *header) error {
	if len(value) < headerEncodedSize {
		return errInvalidHeader
	}
	var encoded [headerEncodedSize]byte
	copy(encoded[:], value)
	n, err := b64.Decode(raw[:], encoded[:])
	if err != nil || n != headerSize {
		if err == nil {
			err = errors.New("short header")
		}
		return wrapError(ErrInvalid, "unable to base64url decode session header", err)
	}
	if raw[0] != cookieType {
		return errInvalidType
	}
	h.unmarshal(raw[:])
	return nil
}

// chunkCount returns how many cookies a value of dataSize base64 characters
// needs under a cookie named name.
func chunkCount(nameSize, dataSize int) (int, error) {
	need := nameSize + 1 + headerEncodedSize + dataSize
	if need > maxCookies*maxCookieSize {
		return 0, errCookieTooLarge
	}
	if need <= maxCookieSize {
		return 1, nil
	}
	for i := 2; i <= maxCookies; i++ {
		need += nameSize + 2
		if need > maxCookies*maxCookieSize {
			break
		}
		if need <= maxCookieSize*i {
			return i, nil
		}
	}
	return 0, errCookieTooLarge
}
