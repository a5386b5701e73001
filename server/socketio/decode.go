package socketio

import (
	"bytes"
	"encoding/json"

	"github.com/tradedash/realtime/internal/jsonscan"
)

// reservedEvents are the event names a client may not send.
var reservedEvents = []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

// IsReservedEvent reports whether name is reserved by Socket.IO.
func IsReservedEvent(name string) bool {
	for _, r := range reservedEvents {
		if r == name {
			return true
		}
	}
	return false
}

// Decoder decodes the packets of one connection, reassembling binary
// packets from their attachments. It is not safe for concurrent use.
type Decoder struct {
	// MaxAttachments caps the attachments of one packet. Zero means
	// DefaultMaxAttachments.
	MaxAttachments int

	pending *Packet
	want    int
}

// Add decodes one Engine.IO message. It returns the completed packet, or nil
// while a binary packet waits for more attachments. After an error the
// connection must be closed.
func (d *Decoder) Add(data []byte, binary bool) (*Packet, error) {
	if binary {
		if d.pending == nil {
			return nil, ErrUnexpectedBinary
		}
		// The engine reuses nothing after delivery, but keep our own copy
		// so the packet owns its bytes.
		d.pending.Attachments = append(d.pending.Attachments, bytes.Clone(data))
		if len(d.pending.Attachments) < d.want {
			return nil, nil
		}
		p := d.pending
		d.pending, d.want = nil, 0
		if err := checkPlaceholders(p.Data, len(p.Attachments)); err != nil {
			return nil, err
		}
		return p, nil
	}
	if d.pending != nil {
		return nil, ErrUnexpectedText
	}
	p, n, err := d.decodeString(data)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		p.Attachments = make([][]byte, 0, n)
		d.pending, d.want = p, n
		return nil, nil
	}
	return p, nil
}

// Reset drops a packet waiting for attachments.
func (d *Decoder) Reset() { d.pending, d.want = nil, 0 }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// decodeString parses the text form, following socket.io-parser's
// decodeString. It returns the packet and the number of attachments to wait
// for.
func (d *Decoder) decodeString(s []byte) (*Packet, int, error) {
	if len(s) == 0 || !isDigit(s[0]) || s[0] > '6' {
		return nil, 0, ErrUnknownType
	}
	p := &Packet{Type: PacketType(s[0] - '0'), Nsp: "/", ID: NoID}
	i := 1
	attachments := 0
	if p.Type == BinaryEvent || p.Type == BinaryAck {
		j := bytes.IndexByte(s[i:], '-')
		if j <= 0 || j > 9 {
			return nil, 0, ErrIllegalAttachments
		}
		for _, c := range s[i : i+j] {
			if !isDigit(c) {
				return nil, 0, ErrIllegalAttachments
			}
			attachments = attachments*10 + int(c-'0')
		}
		if attachments < 1 {
			return nil, 0, ErrIllegalAttachments
		}
		max := d.MaxAttachments
		if max <= 0 {
			max = DefaultMaxAttachments
		}
		if attachments > max {
			return nil, 0, ErrTooManyAttachments
		}
		i += j + 1
	}
	if i < len(s) && s[i] == '/' {
		j := bytes.IndexByte(s[i:], ',')
		if j < 0 {
			p.Nsp = string(s[i:])
			i = len(s)
		} else {
			p.Nsp = string(s[i : i+j])
			i += j + 1
		}
	}
	if i < len(s) && isDigit(s[i]) {
		j := i
		var id int64
		for j < len(s) && isDigit(s[j]) {
			if id > (1<<53)/10 {
				return nil, 0, ErrInvalidPayload
			}
			id = id*10 + int64(s[j]-'0')
			j++
		}
		p.ID = id
		i = j
	}
	if i < len(s) {
		data := s[i:]
		if !payloadValid(p.Type, data) {
			return nil, 0, ErrInvalidPayload
		}
		p.Data, p.checked = bytes.Clone(data), true
	}
	return p, attachments, nil
}

// payloadValid checks the JSON data of a packet as socket.io-parser's
// isPayloadValid does.
func payloadValid(t PacketType, data []byte) bool {
	first := firstByte(data)
	switch t {
	case Connect:
		return first == '{' && json.Valid(data)
	case Disconnect:
		return false
	case ConnectError:
		return (first == '{' || first == '"') && json.Valid(data)
	case Event, BinaryEvent:
		if first != '[' || !json.Valid(data) {
			return false
		}
		name, ok := jsonscan.First(data)
		if !ok {
			return false
		}
		switch name[0] {
		case '"':
			s, ok := jsonscan.Unquote(name)
			return ok && !IsReservedEvent(s)
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return true
		}
		return false
	case Ack, BinaryAck:
		return first == '[' && json.Valid(data)
	}
	return false
}

func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

// checkPlaceholders verifies that every placeholder names an attachment, as
// socket.io-parser's reconstructPacket does.
func checkPlaceholders(data []byte, n int) error {
	if !bytes.Contains(data, []byte(`"_placeholder"`)) {
		return nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return ErrInvalidPayload
	}
	return walkPlaceholders(v, n)
}

func walkPlaceholders(v any, n int) error {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if err := walkPlaceholders(e, n); err != nil {
				return err
			}
		}
	case map[string]any:
		if ph, ok := x["_placeholder"].(bool); ok && ph {
			num, ok := x["num"].(float64)
			if !ok || num < 0 || num >= float64(n) || num != float64(int(num)) {
				return ErrIllegalAttachments
			}
			return nil
		}
		for _, e := range x {
			if err := walkPlaceholders(e, n); err != nil {
				return err
			}
		}
	}
	return nil
}
