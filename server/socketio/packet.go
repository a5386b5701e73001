// Package socketio is the Socket.IO protocol, version 5: the packet format,
// the encoder with binary attachments, and the decoder that reassembles
// them, with the same rules as Node's socket.io-parser 4.2.
package socketio

import (
	"encoding/json"
	"errors"
	"strconv"
)

// PacketType is the Socket.IO packet type.
type PacketType byte

// The Socket.IO 5 packet types.
const (
	Connect PacketType = iota
	Disconnect
	Event
	Ack
	ConnectError
	BinaryEvent
	BinaryAck
)

// DefaultMaxAttachments is the number of binary attachments a packet may
// carry, as socket.io-parser 4.2.6+ allows (the attachment DoS fix).
const DefaultMaxAttachments = 10

// NoID marks a packet without an ack id.
const NoID int64 = -1

// Packet is one Socket.IO packet.
type Packet struct {
	Type PacketType
	// Nsp is the namespace; "" is taken as "/".
	Nsp string
	// ID is the ack id, or NoID.
	ID int64
	// Data is the JSON payload, nil when the packet has none. In a binary
	// packet the attachments stand in it as {"_placeholder":true,"num":N}.
	Data json.RawMessage
	// Attachments are the binary parts of a BinaryEvent or BinaryAck.
	Attachments [][]byte

	checked bool // the Decoder found Data valid JSON (SplitEvent/SplitAck need not check it again)
}

// Decoding errors. The connection that sent such a packet is closed.
var (
	ErrUnknownType        = errors.New("socketio: unknown packet type")
	ErrIllegalAttachments = errors.New("socketio: illegal attachments")
	ErrTooManyAttachments = errors.New("socketio: too many attachments")
	ErrInvalidPayload     = errors.New("socketio: invalid payload")
	ErrUnexpectedBinary   = errors.New("socketio: got binary data when not reconstructing a packet")
	ErrUnexpectedText     = errors.New("socketio: got plaintext data when reconstructing a packet")
	ErrTooLarge           = errors.New("socketio: packet over the size limit")
)

// AppendHeader appends everything of the packet's text form before its
// JSON data: type, attachment count, namespace and ack id.
func (p *Packet) AppendHeader(dst []byte) []byte {
	dst = append(dst, '0'+byte(p.Type))
	if p.Type == BinaryEvent || p.Type == BinaryAck {
		dst = strconv.AppendInt(dst, int64(len(p.Attachments)), 10)
		dst = append(dst, '-')
	}
	if p.Nsp != "" && p.Nsp != "/" {
		dst = append(dst, p.Nsp...)
		dst = append(dst, ',')
	}
	if p.ID >= 0 {
		dst = strconv.AppendInt(dst, p.ID, 10)
	}
	return dst
}

// AppendText appends the packet's text form: the header and the JSON data.
func (p *Packet) AppendText(dst []byte) []byte {
	dst = p.AppendHeader(dst)
	return append(dst, p.Data...)
}
