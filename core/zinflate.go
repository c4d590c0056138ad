package session

import (
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
	"sync"
)

// zinflate decodes raw DEFLATE (RFC 1951) held whole in memory: the
// plaintext of a session, at most a few megabytes, is inflated in one call,
// without compress/flate's reader, window copies and byte-at-a-time reads.
// It accepts exactly the streams compress/flate accepts (complete Huffman
// codes or a single one-bit code, at most 286 literal/length and 30
// distance codes, an end-of-block code in every dynamic block, distances
// within the output) and writes the same bytes; FuzzZinflate checks both
// against compress/flate. As compress/flate, it stops at the end of the
// final block and ignores what follows.

var (
	errZCorrupt = errors.New("corrupt deflate data")
	errZTrunc   = io.ErrUnexpectedEOF
)

const (
	zPrimaryBits = 10 // bits of a literal/length code's lookup; longer codes use a subtable
	zDistBits    = 8  // bits of a distance code's lookup
	zMaxLitCodes = 286
	zMaxDistCode = 30
	// An entry is sym<<8 | length, or, for a prefix of longer codes,
	// zLink | offset<<8 | subtable bits.
	zLink = 1 << 31
)

var (
	zLenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	zLenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	zDistBase = [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
		1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	zDistExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// zCLOrder is the order of the code length code lengths.
	zCLOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// zHuff is a decoding table: a primary table indexed by the next bits
// (bits of them), and subtables for the codes longer than that.
type zHuff struct {
	prim [1 << zPrimaryBits]uint32
	mask uint64 // 1<<bits - 1
	sub  []uint32
}

// build makes the table of a code given by its lengths (0: unused), looked
// up by primary bits at first (at most zPrimaryBits). It reports false for
// an over-subscribed or incomplete code, but for a code of a single one-bit
// symbol, as compress/flate does. An empty code builds a table whose every
// entry is invalid (length 0).
func (h *zHuff) build(lengths []uint8, primary int) bool {
	var count [16]uint16
	maxLen := 0
	for _, l := range lengths {
		count[l&15]++
		maxLen = max(maxLen, int(l))
	}
	count[0] = 0
	size := 1 << primary
	h.mask = uint64(size - 1)
	h.sub = h.sub[:0]
	clear(h.prim[:size])
	if maxLen == 0 {
		return true
	}
	var next [16]uint32
	code := uint32(0)
	for l := 1; l <= 15; l++ {
		code = (code + uint32(count[l-1])) << 1
		next[l] = code
	}
	// The code is complete when the codes of the longest length end at
	// 1<<maxLen.
	if end := next[maxLen] + uint32(count[maxLen]); end != 1<<maxLen && !(end == 1 && maxLen == 1) {
		return false
	}
	// Long codes: a subtable per primary prefix, 1<<(maxLen-primary)
	// entries, as compress/flate's links.
	subBits := max(maxLen-primary, 0)
	for sym, l := range lengths {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		rev := uint32(bits.Reverse16(uint16(c)) >> (16 - l))
		e := uint32(sym)<<8 | uint32(l)
		if int(l) <= primary {
			for i := rev; i < uint32(size); i += 1 << l {
				h.prim[i] = e
			}
			continue
		}
		prefix := rev & uint32(size-1)
		link := h.prim[prefix]
		if link == 0 {
			off := uint32(len(h.sub))
			h.sub = append(h.sub, make([]uint32, 1<<subBits)...)
			link = zLink | off<<8 | uint32(subBits)
			h.prim[prefix] = link
		}
		off := link &^ zLink >> 8
		for i := rev >> primary; i < 1<<subBits; i += 1 << (int(l) - primary) {
			h.sub[off+i] = e
		}
	}
	return true
}

// zInflater is the state of one zinflate call.
type zInflater struct {
	src  []byte
	pos  int    // next byte of src to load
	b    uint64 // bit buffer, least significant first
	nb   uint   // bits in b
	pad  uint   // of which, zero bits past the end of src (the top pad bits)
	lit  zHuff
	dist zHuff
	cl   zHuff
	lens [zMaxLitCodes + zMaxDistCode]uint8
}

var zInflaters = sync.Pool{New: func() any { return new(zInflater) }}

// zFixed holds the tables of the fixed codes.
var zFixedLit, zFixedDist = func() (*zHuff, *zHuff) {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	var d [32]uint8
	for i := range d {
		d[i] = 5
	}
	var lit, dist zHuff
	lit.build(l[:], zPrimaryBits)
	dist.build(d[:], 5)
	return &lit, &dist
}()

// refill tops the bit buffer up to at least 56 bits, with zero bits past
// the end of src (counted in pad).
func (z *zInflater) refill() {
	if z.nb >= 56 {
		return
	}
	if z.pos+8 <= len(z.src) {
		z.b |= binary.LittleEndian.Uint64(z.src[z.pos:]) << z.nb
		z.pos += int(63-z.nb) >> 3 // nb < 56
		z.nb |= 56
		return
	}
	for z.nb <= 56 {
		if z.pos < len(z.src) {
			z.b |= uint64(z.src[z.pos]) << z.nb
			z.pos++
		} else {
			z.pad += 8
		}
		z.nb += 8
	}
}

// take returns the next n (at most 32) bits, after a refill.
func (z *zInflater) take(n uint) uint32 {
	v := uint32(z.b & (1<<n - 1))
	z.b >>= n
	z.nb -= n
	return v
}

// overread reports whether bits past the end of src were used.
func (z *zInflater) overread() bool { return z.nb < z.pad }

// sym decodes one symbol with h; a bit pattern of no code is an error.
func (z *zInflater) sym(h *zHuff) (int, error) {
	e := h.prim[z.b&h.mask&(1<<zPrimaryBits-1)]
	if e&zLink != 0 {
		e = h.sub[e&^zLink>>8+uint32(z.b>>(bits.Len64(h.mask)))&(1<<(e&0xff)-1)]
	}
	n := uint(e & 0xff)
	if n == 0 {
		return 0, errZCorrupt
	}
	z.b >>= n
	z.nb -= n
	return int(e >> 8), nil
}

// zinflate appends to dst the decompression of src, failing with
// errInflateTooLarge when it would pass limit bytes.
func zinflate(dst, src []byte, limit int) ([]byte, error) {
	z := zInflaters.Get().(*zInflater)
	defer zInflaters.Put(z)
	z.src, z.pos, z.b, z.nb, z.pad = src, 0, 0, 0, 0
	defer func() { z.src = nil }()
	start := len(dst)
	limit += start
	for {
		z.refill()
		if z.overread() || z.nb-z.pad < 3 {
			return nil, errZTrunc
		}
		final := z.take(1)
		var lit, dist *zHuff
		switch z.take(2) {
		case 0:
			var err error
			if dst, err = z.stored(dst, limit); err != nil {
				return nil, err
			}
		case 1:
			lit, dist = zFixedLit, zFixedDist
		case 2:
			if err := z.dynamic(); err != nil {
				return nil, err
			}
			lit, dist = &z.lit, &z.dist
		default:
			return nil, errZCorrupt
		}
		if lit != nil {
			var err error
			if dst, err = z.block(dst, start, limit, lit, dist); err != nil {
				return nil, err
			}
		}
		if final == 1 {
			return dst, nil
		}
	}
}

// stored copies a stored block.
func (z *zInflater) stored(dst []byte, limit int) ([]byte, error) {
	// Drop to a byte boundary, then return the whole bytes in the buffer
	// to the input.
	z.take(z.nb % 8)
	if z.overread() {
		return nil, errZTrunc
	}
	back := (z.nb - z.pad) / 8
	z.pos -= int(back)
	z.b, z.nb, z.pad = 0, 0, 0
	if z.pos+4 > len(z.src) {
		return nil, errZTrunc
	}
	n := int(binary.LittleEndian.Uint16(z.src[z.pos:]))
	nn := int(binary.LittleEndian.Uint16(z.src[z.pos+2:]))
	z.pos += 4
	if n != ^nn&0xffff {
		return nil, errZCorrupt
	}
	if len(dst)+n > limit {
		return nil, errInflateTooLarge
	}
	if z.pos+n > len(z.src) {
		return nil, errZTrunc
	}
	dst = append(dst, z.src[z.pos:z.pos+n]...)
	z.pos += n
	return dst, nil
}

// dynamic reads the code lengths of a dynamic block and builds its tables.
func (z *zInflater) dynamic() error {
	z.refill()
	nlit := int(z.take(5)) + 257
	ndist := int(z.take(5)) + 1
	nclen := int(z.take(4)) + 4
	if nlit > zMaxLitCodes || ndist > zMaxDistCode {
		return errZCorrupt
	}
	var cl [19]uint8
	for i := range nclen {
		if i%14 == 0 {
			z.refill()
		}
		cl[zCLOrder[i]] = uint8(z.take(3))
	}
	if z.overread() {
		return errZTrunc
	}
	if !z.cl.build(cl[:], 7) {
		return errZCorrupt
	}
	lens := z.lens[:nlit+ndist]
	for i := 0; i < len(lens); {
		z.refill()
		s, err := z.sym(&z.cl)
		if err != nil {
			return err
		}
		if s < 16 {
			lens[i] = uint8(s)
			i++
			continue
		}
		var rep int
		var v uint8
		switch s {
		case 16:
			if i == 0 {
				return errZCorrupt
			}
			v, rep = lens[i-1], 3+int(z.take(2))
		case 17:
			rep = 3 + int(z.take(3))
		default:
			rep = 11 + int(z.take(7))
		}
		if i+rep > len(lens) {
			return errZCorrupt
		}
		for range rep {
			lens[i] = v
			i++
		}
	}
	if z.overread() {
		return errZTrunc
	}
	if lens[256] == 0 { // no end-of-block code
		return errZCorrupt
	}
	if !z.lit.build(lens[:nlit], zPrimaryBits) || !z.dist.build(lens[nlit:], zDistBits) {
		return errZCorrupt
	}
	return nil
}

// block decodes the symbols of a Huffman block up to its end. It keeps the
// bit buffer and the output position in locals, writes into dst's spare
// capacity (grown ahead: a match writes at most 258 bytes), and checks for
// bits read past the end of src (pad) after each symbol.
func (z *zInflater) block(dst []byte, start, limit int, lit, dist *zHuff) ([]byte, error) {
	b, nb, pad, pos, src := z.b, z.nb, z.pad, z.pos, z.src
	litPrim, litMask, litSub := &lit.prim, lit.mask&(1<<zPrimaryBits-1), lit.sub
	distPrim, distMask, distSub := &dist.prim, dist.mask&(1<<zPrimaryBits-1), dist.sub
	litBits, distBits := uint(bits.Len64(litMask)), uint(bits.Len64(distMask))
	o := len(dst) // the output's end in out
	out := dst[:cap(dst)]
	defer func() { z.b, z.nb, z.pad, z.pos = b, nb, pad, pos }()
	for {
		if len(out)-o < zMaxMatch {
			// Double, but never past what the limit lets a match write
			// (o <= limit, so there is room for one).
			end := min(o+max(len(out), 4096), limit+zMaxMatch)
			out = append(out[:o], make([]byte, end-o)...)
			out = out[:cap(out)]
		}
		// 56 bits hold a literal/length code (15), its extra bits (5), a
		// distance code (15) and its extra bits (13).
		if nb < 48 {
			if pos+8 <= len(src) {
				b |= binary.LittleEndian.Uint64(src[pos:]) << nb
				pos += int(63-nb) >> 3
				nb |= 56
			} else {
				for nb <= 56 {
					if pos < len(src) {
						b |= uint64(src[pos]) << nb
						pos++
					} else {
						pad += 8
					}
					nb += 8
				}
			}
		}
		e := litPrim[b&litMask]
		if e&zLink != 0 {
			e = litSub[e&^zLink>>8+uint32(b>>litBits)&(1<<(e&0xff)-1)]
		}
		n := uint(e & 0xff)
		if n == 0 {
			return nil, errZCorrupt
		}
		b >>= n
		nb -= n
		if nb < pad {
			return nil, errZTrunc
		}
		s := int(e >> 8)
		if s < 256 {
			if o >= limit {
				return nil, errInflateTooLarge
			}
			out[o] = byte(s)
			o++
			continue
		}
		if s == 256 {
			return out[:o], nil
		}
		s -= 257
		if s >= len(zLenBase) {
			return nil, errZCorrupt
		}
		x := uint(zLenExtra[s])
		length := int(zLenBase[s]) + int(b&(1<<x-1))
		b >>= x
		nb -= x
		e = distPrim[b&distMask]
		if e&zLink != 0 {
			e = distSub[e&^zLink>>8+uint32(b>>distBits)&(1<<(e&0xff)-1)]
		}
		n = uint(e & 0xff)
		if n == 0 {
			return nil, errZCorrupt
		}
		b >>= n
		nb -= n
		d := int(e >> 8)
		if d >= zMaxDistCode {
			return nil, errZCorrupt
		}
		x = uint(zDistExtra[d])
		distance := int(zDistBase[d]) + int(b&(1<<x-1))
		b >>= x
		nb -= x
		if nb < pad {
			return nil, errZTrunc
		}
		if distance > o-start {
			return nil, errZCorrupt
		}
		if o+length > limit {
			return nil, errInflateTooLarge
		}
		// Copy from distance back; when the match overlaps what it writes,
		// the copied stretch doubles each time.
		from, end := o-distance, o+length
		for o < end {
			o += copy(out[o:end], out[from:o])
		}
	}
}
