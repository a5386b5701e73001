package server

import (
	"github.com/tradedash/realtime/server/engineio"
	"github.com/tradedash/realtime/server/socketio"
)

// encodePacket turns a Socket.IO packet into its Engine.IO messages: the
// text part, then one binary message per attachment. shared packets get
// their WebSocket frames prepared once for all recipients.
func encodePacket(p *socketio.Packet, compress, shared bool) []*engineio.Packet {
	text := p.AppendText(make([]byte, 0, len(p.Data)+16))
	out := make([]*engineio.Packet, 0, 1+len(p.Attachments))
	m := engineio.NewMessage(text, false)
	m.Compress = compress
	if shared {
		m.Share()
	}
	out = append(out, m)
	for _, att := range p.Attachments {
		b := engineio.NewMessage(att, true)
		b.Compress = compress
		if shared {
			b.Share()
		}
		out = append(out, b)
	}
	return out
}
