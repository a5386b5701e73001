// Package wsframe holds what our two WebSocket frame parsers share: the
// server's reader of client frames (server/engineio) and the load
// generator's reader of server frames (internal/sioclient).
package wsframe

import "encoding/binary"

// AppendHeader appends a frame header up to the masking key (RFC 6455
// section 5.2): fin, the opcode op, the payload length n with the mask bit
// when masked. PayloadLength reads it back.
func AppendHeader(dst []byte, fin bool, op byte, n int, masked bool) []byte {
	b0, mask := op&0x0f, byte(0)
	if fin {
		b0 |= 0x80
	}
	if masked {
		mask = 0x80
	}
	switch {
	case n < 126:
		return append(dst, b0, mask|byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, b0, mask|126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, b0, mask|127), uint64(n))
}

// PayloadLength reads the payload length of the frame at the start of b
// (RFC 6455 section 5.2): hdr is the header's size up to the masking key,
// n the payload's size; ok is false while b does not hold all of it yet.
func PayloadLength(b []byte) (hdr int, n uint64, ok bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	switch n = uint64(b[1] & 0x7f); n {
	case 126:
		if len(b) < 4 {
			return 0, 0, false
		}
		return 4, uint64(binary.BigEndian.Uint16(b[2:])), true
	case 127:
		if len(b) < 10 {
			return 0, 0, false
		}
		return 10, binary.BigEndian.Uint64(b[2:]), true
	}
	return 2, n, true
}
