package session

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"sync"
)

// zdeflate writes raw DEFLATE exactly as zlib does at its default level
// (6, with windowBits -15, memLevel 8 and the default strategy): the
// reference deflates session data with lua-ffi-zlib and those settings, and
// compress/flate, at any level, makes other streams, sometimes longer ones
// (it finds no three-byte matches, which costs most on non-ASCII text).
// Writing the same bytes as the reference means that a session the
// reference can save in nine cookies fits here too, and that a save makes
// the reference's cookie byte for byte.
//
// It is an altered port of zlib 1.2.13's deflate_slow, longest_match and
// trees.c (Copyright (C) 1995-2022 Jean-loup Gailly and Mark Adler, under
// the zlib licence, reproduced in the repository's LICENSE),
// whose output later versions (1.3, 1.3.1) keep. The whole input is in
// memory, but where zlib's 64 KiB window would begin (base) is tracked: the
// hash chains hold window positions, as zlib's do, and sliding the window
// forgets the same entries. Inflating is left to compress/flate.

const (
	zMinMatch     = 3
	zMaxMatch     = 258
	zWSize        = 1 << 15
	zWMask        = zWSize - 1
	zMinLookahead = zMaxMatch + zMinMatch + 1
	zMaxDist      = zWSize - zMinLookahead
	zWindowSize   = 2 * zWSize
	zHashBits     = 15 // memLevel 8 + 7
	zHashSize     = 1 << zHashBits
	zHashMask     = zHashSize - 1
	zTooFar       = 4096
	// Level 6 of zlib's configuration_table.
	zGoodLength = 8
	zMaxLazy    = 16
	zNiceLength = 128
	zMaxChain   = 128
	// A block ends after lit_bufsize-1 symbols (lit_bufsize is 1 << (memLevel+6)).
	zSymEnd = 1<<14 - 1
	// Zeros after the input: longest_match reads up to zMaxMatch bytes past
	// the current position, beyond the end of the input near it.
	zPad = zMaxMatch + 8

	zLiterals    = 256
	zLengthCodes = 29
	zLCodes      = zLiterals + 1 + zLengthCodes
	zDCodes      = 30
	zBLCodes     = 19
	zHeapSize    = 2*zLCodes + 1
	zMaxBits     = 15
	zMaxBLBits   = 7
	zEndBlock    = 256
	zRep3To6     = 16
	zRepZ3To10   = 17
	zRepZ11To138 = 18
)

var (
	zExtraLBits  = [zLengthCodes]int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	zExtraDBits  = [zDCodes]int{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	zExtraBLBits = [zBLCodes]int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7}
	zBLOrder     = [zBLCodes]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

	zLengthCode  [zMaxMatch - zMinMatch + 1]uint8
	zDistCode    [512]uint8
	zBaseLength  [zLengthCodes]int
	zBaseDist    [zDCodes]int
	zStaticLTree [zLCodes + 2]zNode
	zStaticDTree [zDCodes]zNode
)

// zNode is zlib's ct_data, without its unions: freq and code, dad and len
// are separate fields here.
type zNode struct{ freq, code, dad, len uint16 }

func init() {
	// tr_static_init
	length := 0
	code := 0
	for ; code < zLengthCodes-1; code++ {
		zBaseLength[code] = length
		for range 1 << zExtraLBits[code] {
			zLengthCode[length] = uint8(code)
			length++
		}
	}
	// Length 258 is code 285, not 284 with five extra bits.
	zLengthCode[length-1] = uint8(code)
	dist := 0
	for code = 0; code < 16; code++ {
		zBaseDist[code] = dist
		for range 1 << zExtraDBits[code] {
			zDistCode[dist] = uint8(code)
			dist++
		}
	}
	dist >>= 7
	for ; code < zDCodes; code++ {
		zBaseDist[code] = dist << 7
		for range 1 << (zExtraDBits[code] - 7) {
			zDistCode[256+dist] = uint8(code)
			dist++
		}
	}
	var blCount [zMaxBits + 1]uint16
	for n := range zStaticLTree {
		l := uint16(8)
		switch {
		case n >= 144 && n <= 255:
			l = 9
		case n >= 256 && n <= 279:
			l = 7
		}
		zStaticLTree[n].len = l
		blCount[l]++
	}
	zGenCodes(zStaticLTree[:], zLCodes+1, &blCount)
	for n := range zStaticDTree {
		zStaticDTree[n] = zNode{len: 5, code: zReverse(uint16(n), 5)}
	}
}

func zDCode(dist int) uint8 {
	if dist < 256 {
		return zDistCode[dist]
	}
	return zDistCode[256+dist>>7]
}

func zReverse(code uint16, n uint16) uint16 { return bits.Reverse16(code) >> (16 - n) }

// zGenCodes is gen_codes: canonical codes from the bit lengths.
func zGenCodes(tree []zNode, maxCode int, blCount *[zMaxBits + 1]uint16) {
	var next [zMaxBits + 1]uint16
	code := 0
	for b := 1; b <= zMaxBits; b++ {
		code = (code + int(blCount[b-1])) << 1
		next[b] = uint16(code)
	}
	for n := 0; n <= maxCode; n++ {
		l := tree[n].len
		if l == 0 {
			continue
		}
		tree[n].code = zReverse(next[l], l)
		next[l]++
	}
}

// zTreeDesc is tree_desc with its static_tree_desc.
type zTreeDesc struct {
	tree      []zNode
	stree     []zNode // the static tree, nil for the bit length tree
	extra     []int
	extraBase int
	elems     int
	maxLength int
	maxCode   int
}

type zDeflater struct {
	win []byte // the input, then zPad zeros
	// The hash chains, in positions in zlib's window (input position -
	// base), 0 for none, as zlib keeps them.
	head [zHashSize]uint16
	prev [zWSize]uint16

	// deflate_slow's state, in absolute positions.
	strstart, blockStart, matchStart int
	base                             int // the input position at zlib's window[0]
	end                              int // the end of the input in zlib's window

	// The block's symbols: a distance (0 for a literal) and a length - 3 or
	// a literal byte.
	symDist [zSymEnd]uint16
	symLC   [zSymEnd]uint8
	nsym    int

	ltree, dtree, bltree [zHeapSize]zNode
	ldesc, ddesc, bldesc zTreeDesc
	heap                 [zHeapSize]int
	heapLen, heapMax     int
	depth                [zHeapSize]uint8
	blCount              [zMaxBits + 1]uint16
	optLen, staticLen    int

	out   []byte
	bits  uint64
	nbits uint
}

var zDeflaters = sync.Pool{New: func() any {
	z := new(zDeflater)
	z.ldesc = zTreeDesc{tree: z.ltree[:], stree: zStaticLTree[:], extra: zExtraLBits[:], extraBase: zLiterals + 1, elems: zLCodes, maxLength: zMaxBits}
	z.ddesc = zTreeDesc{tree: z.dtree[:], stree: zStaticDTree[:], extra: zExtraDBits[:], elems: zDCodes, maxLength: zMaxBits}
	z.bldesc = zTreeDesc{tree: z.bltree[:], extra: zExtraBLBits[:], elems: zBLCodes, maxLength: zMaxBLBits}
	return z
}}

// zdeflate appends to dst what zlib's deflate writes for src at level 6,
// raw (no zlib header), in one stream.
func zdeflate(dst *bytes.Buffer, src []byte) {
	z := zDeflaters.Get().(*zDeflater)
	n := len(src)
	if cap(z.win) < n+zPad {
		z.win = make([]byte, n+zPad)
	}
	z.win = z.win[:n+zPad]
	copy(z.win, src)
	clear(z.win[n:])
	clear(z.head[:])
	z.out = dst.AvailableBuffer()
	z.bits, z.nbits = 0, 0
	z.initBlock()
	z.deflateSlow(n)
	dst.Write(z.out)
	z.out = nil
	if cap(z.win) > 256<<10 {
		z.win = nil // do not keep a large session's buffer
	}
	zDeflaters.Put(z)
}

// slide is the window sliding of fill_window and slide_hash: positions
// that leave the window become 0, none.
func (z *zDeflater) slide() {
	z.base += zWSize
	for i, m := range z.head {
		z.head[i] = uint16(max(int(m)-zWSize, 0))
	}
	for i, m := range z.prev {
		z.prev[i] = uint16(max(int(m)-zWSize, 0))
	}
}

// deflateSlow is deflate_slow with all of the input given at once and
// Z_FINISH: the output is the same when lua-ffi-zlib feeds the input in
// 8 KiB pieces with Z_NO_FLUSH, as no block ends but when it is full.
//
// strstart lives in the local s, written back to z.strstart before the
// calls that read it. Every position up to the last three bytes is
// inserted into the hash chains exactly once, in order (the match branch
// inserts the positions a match covers, and near the end of the input
// none is left out but the last), so the hash is rolled as zlib's ins_h
// is: each insert shifts in one byte.
func (z *zDeflater) deflateSlow(n int) {
	z.strstart, z.blockStart, z.matchStart, z.base, z.end = 0, 0, 0, 0, 0
	matchLength, prevLength, prevMatch := zMinMatch-1, zMinMatch-1, 0
	matchAvailable := false
	win := z.win // n bytes, then zPad zeros
	insH := (int(win[0])<<5 ^ int(win[1])) & zHashMask
	s := 0
	for {
		lookahead := z.end - s
		if lookahead < zMinLookahead {
			// fill_window: slide when the window is almost full, then read
			// as much as fits.
			if s-z.base >= zWSize+zMaxDist {
				z.slide()
			}
			z.end = min(n, z.base+zWindowSize)
			lookahead = z.end - s
			if lookahead == 0 {
				break
			}
		}
		hashHead := 0
		if lookahead >= zMinMatch {
			insH = (insH<<5 ^ int(win[s+2])) & zHashMask
			hashHead = int(z.head[insH])
			z.prev[s&zWMask] = uint16(hashHead)
			z.head[insH] = uint16(s - z.base)
		}
		prevLength, prevMatch = matchLength, z.matchStart
		matchLength = zMinMatch - 1
		// Window position 0 is none: it never matches.
		if hashHead != 0 && prevLength < zMaxLazy && s-z.base-hashHead <= zMaxDist {
			z.strstart = s
			matchLength = z.longestMatch(hashHead, prevLength, lookahead)
			if matchLength == zMinMatch && s-z.matchStart > zTooFar {
				matchLength = zMinMatch - 1
			}
		}
		switch {
		case prevLength >= zMinMatch && matchLength <= prevLength:
			maxInsert := s + lookahead - zMinMatch
			flush := z.tally(s-1-prevMatch, prevLength-zMinMatch)
			for range prevLength - 2 {
				s++
				if s <= maxInsert {
					insH = (insH<<5 ^ int(win[s+2])) & zHashMask
					z.prev[s&zWMask] = z.head[insH]
					z.head[insH] = uint16(s - z.base)
				}
			}
			matchAvailable = false
			matchLength = zMinMatch - 1
			s++
			if flush {
				z.strstart = s
				z.flushBlock(false)
			}
		case matchAvailable:
			if z.tally(0, int(win[s-1])) {
				z.strstart = s
				z.flushBlock(false)
			}
			s++
		default:
			matchAvailable = true
			s++
		}
	}
	z.strstart = s
	if matchAvailable {
		z.tally(0, int(win[s-1]))
	}
	z.flushBlock(true)
}

// longestMatch is longest_match: the longest match at strstart along the
// hash chain from cur (a window position), if longer than prevLength; it
// sets matchStart.
func (z *zDeflater) longestMatch(cur, prevLength, lookahead int) int {
	win := z.win[z.base:] // zlib's window
	scan := z.strstart - z.base
	chain := zMaxChain
	bestLen := prevLength
	nice := zNiceLength
	limit := 0 // window positions at or below limit end the chain
	if scan > zMaxDist {
		limit = scan - zMaxDist
	}
	if prevLength >= zGoodLength {
		chain >>= 2
	}
	if nice > lookahead {
		nice = lookahead
	}
	// zlib compares match[bestLen-1], match[bestLen], match[0] and
	// match[1] before the rest, and never match[2]: the hash, with the
	// first two bytes, decides it.
	scanStart := binary.LittleEndian.Uint16(win[scan:])
	scanEnd := binary.LittleEndian.Uint16(win[scan+bestLen-1:])
	for {
		if binary.LittleEndian.Uint16(win[cur+bestLen-1:]) == scanEnd && binary.LittleEndian.Uint16(win[cur:]) == scanStart {
			l := 3 + zMatchLen(win[scan+3:scan+zMaxMatch], win[cur+3:])
			if l > bestLen {
				z.matchStart = z.base + cur
				bestLen = l
				if l >= nice {
					break
				}
				scanEnd = binary.LittleEndian.Uint16(win[scan+bestLen-1:])
			}
		}
		cur = int(z.prev[cur&zWMask])
		if cur <= limit {
			break
		}
		if chain--; chain == 0 {
			break
		}
	}
	return min(bestLen, lookahead)
}

// zMatchLen is the length of the common prefix of a and b (len(a) <= len(b)).
func zMatchLen(a, b []byte) int {
	n := 0
	for len(a)-n >= 8 {
		if x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:]); x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
	}
	for n < len(a) && a[n] == b[n] {
		n++
	}
	return n
}

// tally is _tr_tally: it records a literal (dist 0, lc the byte) or a match
// (lc its length - 3), and reports a full block.
func (z *zDeflater) tally(dist, lc int) bool {
	z.symDist[z.nsym] = uint16(dist)
	z.symLC[z.nsym] = uint8(lc)
	z.nsym++
	if dist == 0 {
		z.ltree[lc].freq++
	} else {
		z.ltree[int(zLengthCode[lc])+zLiterals+1].freq++
		z.dtree[zDCode(dist-1)].freq++
	}
	return z.nsym == zSymEnd
}

func (z *zDeflater) initBlock() {
	for n := range zLCodes {
		z.ltree[n].freq = 0
	}
	for n := range zDCodes {
		z.dtree[n].freq = 0
	}
	for n := range zBLCodes {
		z.bltree[n].freq = 0
	}
	z.ltree[zEndBlock].freq = 1
	z.optLen, z.staticLen = 0, 0
	z.nsym = 0
}

func (z *zDeflater) sendBits(v, n int) {
	z.bits |= uint64(v) << z.nbits
	z.nbits += uint(n)
	if z.nbits >= 32 {
		z.out = binary.LittleEndian.AppendUint32(z.out, uint32(z.bits))
		z.bits >>= 32
		z.nbits -= 32
	}
}

func (z *zDeflater) sendCode(c int, tree []zNode) { z.sendBits(int(tree[c].code), int(tree[c].len)) }

// windup is bi_windup: the bits so far, padded to a byte.
func (z *zDeflater) windup() {
	for z.nbits > 0 {
		z.out = append(z.out, byte(z.bits))
		z.bits >>= 8
		z.nbits -= min(z.nbits, 8)
	}
	z.bits = 0
}

// flushBlock is _tr_flush_block, called as FLUSH_BLOCK is: it writes the
// block from blockStart to strstart, stored, with the static trees or with
// dynamic ones, whichever is shortest.
func (z *zDeflater) flushBlock(last bool) {
	storedLen := z.strstart - z.blockStart
	z.buildTree(&z.ldesc)
	z.buildTree(&z.ddesc)
	maxBLIndex := z.buildBLTree()
	optLenb := (z.optLen + 3 + 7) >> 3
	staticLenb := (z.staticLen + 3 + 7) >> 3
	if staticLenb <= optLenb {
		optLenb = staticLenb
	}
	lastBit := 0
	if last {
		lastBit = 1
	}
	// A block that began before the window did can no longer be stored.
	switch {
	case storedLen+4 <= optLenb && z.blockStart >= z.base:
		z.sendBits(lastBit, 3)
		z.windup()
		z.out = binary.LittleEndian.AppendUint16(z.out, uint16(storedLen))
		z.out = binary.LittleEndian.AppendUint16(z.out, ^uint16(storedLen))
		z.out = append(z.out, z.win[z.blockStart:z.strstart]...)
	case staticLenb == optLenb:
		z.sendBits(1<<1+lastBit, 3)
		z.compressBlock(zStaticLTree[:], zStaticDTree[:])
	default:
		z.sendBits(2<<1+lastBit, 3)
		z.sendAllTrees(z.ldesc.maxCode+1, z.ddesc.maxCode+1, maxBLIndex+1)
		z.compressBlock(z.ltree[:], z.dtree[:])
	}
	z.initBlock()
	if last {
		z.windup()
	}
	z.blockStart = z.strstart
}

// compressBlock sends the block's symbols with the trees ltree and dtree,
// the bit buffer in locals: a literal is one code; a match a length code,
// its extra bits (at most 5), a distance code and its extra bits (at most
// 13), flushed as sendBits does, 32 bits at a time.
func (z *zDeflater) compressBlock(ltree, dtree []zNode) {
	acc, n, out := z.bits, z.nbits, z.out
	ltree, dtree = ltree[:zLCodes], dtree[:zDCodes]
	for i := range z.nsym {
		dist, lc := int(z.symDist[i]), int(z.symLC[i])
		if dist == 0 {
			t := ltree[lc]
			acc |= uint64(t.code) << n
			n += uint(t.len)
		} else {
			code := zLengthCode[lc]
			t := ltree[int(code)+zLiterals+1]
			acc |= uint64(t.code) << n
			n += uint(t.len)
			if extra := zExtraLBits[code]; extra != 0 {
				acc |= uint64(lc-zBaseLength[code]) << n
				n += uint(extra)
			}
			if n >= 32 {
				out = binary.LittleEndian.AppendUint32(out, uint32(acc))
				acc >>= 32
				n -= 32
			}
			dist--
			dc := zDCode(dist)
			t = dtree[dc]
			acc |= uint64(t.code) << n
			n += uint(t.len)
			if extra := zExtraDBits[dc]; extra != 0 {
				acc |= uint64(dist-zBaseDist[dc]) << n
				n += uint(extra)
			}
		}
		if n >= 32 {
			out = binary.LittleEndian.AppendUint32(out, uint32(acc))
			acc >>= 32
			n -= 32
		}
	}
	z.bits, z.nbits, z.out = acc, n, out
	z.sendCode(zEndBlock, ltree)
}

// smaller compares two subtrees by frequency, then depth.
func (z *zDeflater) smaller(tree []zNode, n, m int) bool {
	return tree[n].freq < tree[m].freq || tree[n].freq == tree[m].freq && z.depth[n] <= z.depth[m]
}

func (z *zDeflater) pqdownheap(tree []zNode, k int) {
	v := z.heap[k]
	j := k << 1
	for j <= z.heapLen {
		if j < z.heapLen && z.smaller(tree, z.heap[j+1], z.heap[j]) {
			j++
		}
		if z.smaller(tree, v, z.heap[j]) {
			break
		}
		z.heap[k] = z.heap[j]
		k = j
		j <<= 1
	}
	z.heap[k] = v
}

// buildTree is build_tree: a Huffman tree for the block's frequencies,
// adding its cost to optLen and staticLen.
func (z *zDeflater) buildTree(d *zTreeDesc) {
	tree, stree := d.tree, d.stree
	maxCode := -1
	z.heapLen, z.heapMax = 0, zHeapSize
	for n := range d.elems {
		if tree[n].freq != 0 {
			z.heapLen++
			z.heap[z.heapLen] = n
			maxCode = n
			z.depth[n] = 0
		} else {
			tree[n].len = 0
		}
	}
	// At least two codes, so that at least one bit is sent.
	for z.heapLen < 2 {
		node := 0
		if maxCode < 2 {
			maxCode++
			node = maxCode
		}
		z.heapLen++
		z.heap[z.heapLen] = node
		tree[node].freq = 1
		z.depth[node] = 0
		z.optLen--
		if stree != nil {
			z.staticLen -= int(stree[node].len)
		}
	}
	d.maxCode = maxCode
	for n := z.heapLen / 2; n >= 1; n-- {
		z.pqdownheap(tree, n)
	}
	node := d.elems
	for {
		n := z.heap[1]
		z.heap[1] = z.heap[z.heapLen]
		z.heapLen--
		z.pqdownheap(tree, 1)
		m := z.heap[1]
		z.heapMax--
		z.heap[z.heapMax] = n
		z.heapMax--
		z.heap[z.heapMax] = m
		tree[node].freq = tree[n].freq + tree[m].freq
		z.depth[node] = max(z.depth[n], z.depth[m]) + 1
		tree[n].dad, tree[m].dad = uint16(node), uint16(node)
		z.heap[1] = node
		node++
		z.pqdownheap(tree, 1)
		if z.heapLen < 2 {
			break
		}
	}
	z.heapMax--
	z.heap[z.heapMax] = z.heap[1]
	z.genBitlen(d)
	zGenCodes(tree, maxCode, &z.blCount)
}

// genBitlen is gen_bitlen: the code lengths, at most maxLength bits.
func (z *zDeflater) genBitlen(d *zTreeDesc) {
	tree, stree := d.tree, d.stree
	overflow := 0
	clear(z.blCount[:])
	tree[z.heap[z.heapMax]].len = 0
	h := z.heapMax + 1
	for ; h < zHeapSize; h++ {
		n := z.heap[h]
		b := int(tree[tree[n].dad].len) + 1
		if b > d.maxLength {
			b = d.maxLength
			overflow++
		}
		tree[n].len = uint16(b)
		if n > d.maxCode {
			continue // not a leaf
		}
		z.blCount[b]++
		xbits := 0
		if n >= d.extraBase {
			xbits = d.extra[n-d.extraBase]
		}
		f := int(tree[n].freq)
		z.optLen += f * (b + xbits)
		if stree != nil {
			z.staticLen += f * (int(stree[n].len) + xbits)
		}
	}
	if overflow == 0 {
		return
	}
	for overflow > 0 {
		b := d.maxLength - 1
		for z.blCount[b] == 0 {
			b--
		}
		z.blCount[b]--
		z.blCount[b+1] += 2
		z.blCount[d.maxLength]--
		overflow -= 2
	}
	for b := d.maxLength; b != 0; b-- {
		for n := int(z.blCount[b]); n != 0; {
			h--
			m := z.heap[h]
			if m > d.maxCode {
				continue
			}
			if int(tree[m].len) != b {
				z.optLen += (b - int(tree[m].len)) * int(tree[m].freq)
				tree[m].len = uint16(b)
			}
			n--
		}
	}
}

// scanTree is scan_tree (send false) and send_tree (send true): the run
// length coding of a tree's code lengths.
func (z *zDeflater) scanTree(tree []zNode, maxCode int, send bool) {
	prevlen := -1
	nextlen := int(tree[0].len)
	count := 0
	maxCount, minCount := 7, 4
	if nextlen == 0 {
		maxCount, minCount = 138, 3
	}
	for n := 0; n <= maxCode; n++ {
		curlen := nextlen
		nextlen = 0xffff // the guard after maxCode
		if n < maxCode {
			nextlen = int(tree[n+1].len)
		}
		count++
		if count < maxCount && curlen == nextlen {
			continue
		}
		switch {
		case count < minCount:
			if send {
				for range count {
					z.sendCode(curlen, z.bltree[:])
				}
			} else {
				z.bltree[curlen].freq += uint16(count)
			}
		case curlen != 0:
			if send {
				if curlen != prevlen {
					z.sendCode(curlen, z.bltree[:])
					count--
				}
				z.sendCode(zRep3To6, z.bltree[:])
				z.sendBits(count-3, 2)
			} else {
				if curlen != prevlen {
					z.bltree[curlen].freq++
				}
				z.bltree[zRep3To6].freq++
			}
		case count <= 10:
			if send {
				z.sendCode(zRepZ3To10, z.bltree[:])
				z.sendBits(count-3, 3)
			} else {
				z.bltree[zRepZ3To10].freq++
			}
		default:
			if send {
				z.sendCode(zRepZ11To138, z.bltree[:])
				z.sendBits(count-11, 7)
			} else {
				z.bltree[zRepZ11To138].freq++
			}
		}
		count = 0
		prevlen = curlen
		switch {
		case nextlen == 0:
			maxCount, minCount = 138, 3
		case curlen == nextlen:
			maxCount, minCount = 6, 3
		default:
			maxCount, minCount = 7, 4
		}
	}
}

// buildBLTree is build_bl_tree: it returns the index in zBLOrder of the
// last bit length code to send.
func (z *zDeflater) buildBLTree() int {
	z.scanTree(z.ltree[:], z.ldesc.maxCode, false)
	z.scanTree(z.dtree[:], z.ddesc.maxCode, false)
	z.buildTree(&z.bldesc)
	maxBLIndex := zBLCodes - 1
	for ; maxBLIndex >= 3; maxBLIndex-- {
		if z.bltree[zBLOrder[maxBLIndex]].len != 0 {
			break
		}
	}
	z.optLen += 3*(maxBLIndex+1) + 5 + 5 + 4
	return maxBLIndex
}

func (z *zDeflater) sendAllTrees(lcodes, dcodes, blcodes int) {
	z.sendBits(lcodes-257, 5)
	z.sendBits(dcodes-1, 5)
	z.sendBits(blcodes-4, 4)
	for rank := range blcodes {
		z.sendBits(int(z.bltree[zBLOrder[rank]].len), 3)
	}
	z.scanTree(z.ltree[:], lcodes-1, true)
	z.scanTree(z.dtree[:], dcodes-1, true)
}
