// Package wsframe holds what our two WebSocket frame parsers share: the
// server's reader of client frames (server/engineio) and the load
// generator's reader of server frames (internal/sioclient), and the
// handshake's accept value, which one writes and the other checks.
package wsframe

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
)

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

// acceptGUID is the GUID of RFC 6455 section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AppendAccept appends the Sec-WebSocket-Accept value that answers a
// client's Sec-WebSocket-Key (RFC 6455 section 4.2.2: the base64 of the
// SHA-1 of the key and the GUID). The server writes it, the load
// generator checks it.
func AppendAccept(dst []byte, key string) []byte {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	var sum [sha1.Size]byte
	return base64.StdEncoding.AppendEncode(dst, h.Sum(sum[:0]))
}
