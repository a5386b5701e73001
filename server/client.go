package server

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/tradedash/realtime/server/engineio"
	"github.com/tradedash/realtime/server/socketio"
)

// client is one Engine.IO connection, multiplexing the namespaces its
// sockets joined (Node's Client). It implements engineio.Handler: its calls
// come one at a time, in the order the client sent the packets.
type client struct {
	srv  *Server
	conn *engineio.Session
	dec  socketio.Decoder

	mu      sync.Mutex
	sockets []*Socket   // one per namespace joined; few, so a slice
	timer   *time.Timer // connectTimeout
}

func newClient(srv *Server, conn *engineio.Session) *client {
	c := &client{srv: srv, conn: conn}
	c.timer = time.AfterFunc(srv.cfg.ConnectTimeout, c.onConnectTimeout)
	return c
}

func (c *client) onConnectTimeout() {
	c.mu.Lock()
	none := len(c.sockets) == 0
	c.mu.Unlock()
	if none {
		c.conn.Close()
	}
}

// write sends encoded packets; volatile ones are dropped when the transport
// cannot take them now.
func (c *client) write(pkts []*engineio.Packet, volatile bool) {
	writeTo(c.srv, c.conn, pkts, volatile)
}

// write is client.write for a broadcast to s.
func (s *Socket) write(pkts []*engineio.Packet, volatile bool) {
	writeTo(s.nsp.srv, s.conn, pkts, volatile)
}

// writeTo sends encoded packets on conn; volatile ones are dropped when
// they could not leave at once.
func writeTo(srv *Server, conn *engineio.Session, pkts []*engineio.Packet, volatile bool) {
	if volatile && !conn.Writable() {
		return
	}
	if err := conn.Send(pkts...); err == engineio.ErrSlowClient {
		srv.log.Warn("slow client disconnected", "sid", conn.ID())
	}
}

func (c *client) writePacket(p *socketio.Packet) {
	c.write(encodePacket(p, true, false), false)
}

// OnMessage implements engineio.Handler.
func (c *client) OnMessage(data []byte, binary bool) {
	p, err := c.dec.Add(data, binary)
	if err != nil {
		c.srv.log.Debug("invalid packet, closing the connection", "sid", c.conn.ID(), "err", err)
		c.conn.Close() // as Node: the sockets see "forced close"
		return
	}
	if p == nil {
		return
	}
	s := c.socketOf(p.Nsp)
	switch {
	case s == nil && p.Type == socketio.Connect:
		c.connect(p)
	case s != nil && p.Type != socketio.Connect && p.Type != socketio.ConnectError:
		s.onPacket(p)
	default:
		// Node: "invalid state", the connection is closed.
		c.conn.Close()
	}
}

func (c *client) connect(p *socketio.Packet) {
	nsp := c.srv.namespace(p.Nsp)
	if nsp == nil {
		c.writePacket(&socketio.Packet{
			Type: socketio.ConnectError, Nsp: p.Nsp, ID: socketio.NoID,
			Data: json.RawMessage(`{"message":"Invalid namespace"}`),
		})
		return
	}
	auth := p.Data
	if len(auth) == 0 {
		auth = json.RawMessage("{}")
	}
	nsp.add(c, auth)
}

func (c *client) socketOf(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

func (c *client) addSocket(s *Socket) {
	c.mu.Lock()
	c.sockets = append(c.sockets, s)
	t := c.timer
	c.timer = nil
	c.mu.Unlock()
	if t != nil {
		t.Stop()
	}
}

func (c *client) removeSocket(s *Socket) {
	c.mu.Lock()
	for i, o := range c.sockets {
		if o == s {
			c.sockets = append(c.sockets[:i], c.sockets[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
}

// OnClose implements engineio.Handler: every socket of the connection is
// disconnected with the transport's reason.
func (c *client) OnClose(reason string, err error) {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	socks := append([]*Socket(nil), c.sockets...)
	c.mu.Unlock()
	for _, s := range socks {
		s.onClose(reason)
	}
	c.dec.Reset()
}

// disconnectAll disconnects every socket of the connection and closes it
// once their DISCONNECT packets are out.
func (c *client) disconnectAll() {
	c.mu.Lock()
	socks := append([]*Socket(nil), c.sockets...)
	c.mu.Unlock()
	for _, s := range socks {
		s.Disconnect(false)
	}
	c.conn.Close()
}
