// Package engineio implements the server side of the Engine.IO protocol,
// version 4: the handshake, HTTP long-polling, WebSocket, the upgrade from
// polling to WebSocket, and the heartbeat. It behaves as Node's engine.io 6.6
// does, down to the bytes and status codes.
package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"sync"

	"github.com/gorilla/websocket"
)

// PacketType is the Engine.IO packet type, sent as one ASCII digit.
type PacketType byte

// The Engine.IO 4 packet types.
const (
	Open    PacketType = '0'
	Close   PacketType = '1'
	Ping    PacketType = '2'
	Pong    PacketType = '3'
	Message PacketType = '4'
	Upgrade PacketType = '5'
	Noop    PacketType = '6'
)

// recordSeparator separates packets in a polling payload.
const recordSeparator = '\x1e'

// ErrParse is returned for a packet or payload that is not valid Engine.IO.
var ErrParse = errors.New("engineio: parse error")

// Packet is one Engine.IO packet on its way out. A Packet may be shared by
// many sessions (a broadcast): it is never modified after it is handed to
// Send, and the WebSocket frame built for it is built once, whatever the
// number of recipients.
type Packet struct {
	Type   PacketType
	Data   []byte // the payload; for a binary message the raw bytes
	Binary bool   // a binary message (only with Type == Message)
	// Compress asks for per-message deflate when the payload is over the
	// server's threshold and the client negotiated it.
	Compress bool

	shared   bool
	once     sync.Once
	prepared *websocket.PreparedMessage

	frameOnce sync.Once
	frame     []byte // the packet as a raw WebSocket frame (frame.go)

	// wsOp, when set, makes the packet a WebSocket control frame of that
	// opcode (a pong) instead of an Engine.IO packet.
	wsOp int
}

// NewMessage returns a message packet carrying data.
func NewMessage(data []byte, binary bool) *Packet {
	return &Packet{Type: Message, Data: data, Binary: binary, Compress: true}
}

// Share marks p as sent to many sessions: its WebSocket frame is then built
// once, on first write, and reused for every recipient.
func (p *Packet) Share() *Packet {
	p.shared = true
	return p
}

// size is the packet's weight in a session's output queue.
func (p *Packet) size() int { return len(p.Data) + 1 }

// preparedMessage returns the WebSocket message for p, built on first use
// and shared by every connection the packet is written to.
func (p *Packet) preparedMessage() (*websocket.PreparedMessage, error) {
	var err error
	p.once.Do(func() {
		if p.Binary {
			p.prepared, err = websocket.NewPreparedMessage(websocket.BinaryMessage, p.Data)
			return
		}
		p.prepared, err = websocket.NewPreparedMessage(websocket.TextMessage, p.textFrame())
	})
	if err == nil && p.prepared == nil {
		err = errors.New("engineio: message could not be prepared")
	}
	return p.prepared, err
}

// textFrame is the packet as it travels in a WebSocket text frame: the type
// digit followed by the data.
func (p *Packet) textFrame() []byte {
	b := make([]byte, 0, len(p.Data)+1)
	b = append(b, byte(p.Type))
	return append(b, p.Data...)
}

// appendPayload appends p to a polling payload: `<type><data>`, or for a
// binary message `b<base64>`.
func (p *Packet) appendPayload(dst []byte) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, byte(p.Type))
	return append(dst, p.Data...)
}

// encodePayload encodes packets as one polling payload.
func encodePayload(dst []byte, packets []*Packet) []byte {
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, recordSeparator)
		}
		dst = p.appendPayload(dst)
	}
	return dst
}

// inPacket is one decoded incoming packet. Data aliases the buffer it was
// decoded from.
type inPacket struct {
	Type   PacketType
	Data   []byte
	Binary bool

	// end marks the transport's end as seen by the WebSocket reader
	// (Type 0): the session closes with reason and err when the packets
	// before it have been handled.
	end    bool
	reason string
	err    error
}

// decodeText decodes one packet from its text form (a WebSocket text frame or
// one record of a polling payload).
func decodeText(b []byte) (inPacket, error) {
	if len(b) == 0 {
		return inPacket{}, ErrParse
	}
	if b[0] == 'b' {
		data, err := decodeBase64(b[1:])
		if err != nil {
			return inPacket{}, err
		}
		return inPacket{Type: Message, Data: data, Binary: true}, nil
	}
	t := PacketType(b[0])
	if t < Open || t > Noop {
		return inPacket{}, ErrParse
	}
	return inPacket{Type: t, Data: b[1:]}, nil
}

// decodeBase64 decodes like Node's Buffer.from(s, "base64"): padding is
// optional and the URL-safe alphabet is accepted too.
func decodeBase64(s []byte) ([]byte, error) {
	s = bytes.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if bytes.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	out := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(out, s)
	if err != nil {
		return nil, ErrParse
	}
	return out[:n], nil
}

// decodePayload splits a polling payload into packets. As Node does, the
// packets before the first undecodable one are returned together with the
// error, and are still handled.
func decodePayload(body []byte) ([]inPacket, error) {
	var out []inPacket
	for {
		i := bytes.IndexByte(body, recordSeparator)
		rec := body
		if i >= 0 {
			rec = body[:i]
		}
		p, err := decodeText(rec)
		if err != nil {
			return out, err
		}
		out = append(out, p)
		if i < 0 {
			return out, nil
		}
		body = body[i+1:]
	}
}
