package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradedash/realtime/server/engineio"
	"github.com/tradedash/realtime/server/socketio"
)

// Handshake is what the client's connection said, as Node's
// socket.handshake has it (the same JSON keys, in the same order).
type Handshake struct {
	Headers http.Header     `json:"headers"`
	Time    string          `json:"time"`
	Address string          `json:"address"`
	XDomain bool            `json:"xdomain"`
	Secure  bool            `json:"secure"`
	Issued  int64           `json:"issued"`
	URL     string          `json:"url"`
	Query   url.Values      `json:"query"`
	Auth    json.RawMessage `json:"auth"`
}

// Identity is who the client is, set by the authentication middleware.
type Identity struct {
	// UserID is the user id exactly as the handshake sent it: a string or a
	// float64.
	UserID any
	// UserKey is JavaScript's String(UserID), used in room names.
	UserKey  string
	UserName string
	UserRole string
	// SessionID is the session the user was authenticated with.
	SessionID string
}

// Socket is a client's connection to one namespace.
type Socket struct {
	id     string
	nsp    *Namespace
	client *client
	conn   *engineio.Session // client.conn: a broadcast reads it here, one cache line fewer per recipient
	auth   json.RawMessage   // the CONNECT packet's auth ({} when absent)
	issued time.Time

	identity  Identity // written by middleware before the socket connects
	connected atomic.Bool

	mu           sync.Mutex
	acks         map[int64]func(socketio.Args, error)
	onDisconnect []func(reason string)
	values       map[string]any
}

// ID returns the socket id.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake returns the connection's handshake, built on each call (Node's
// socket.handshake). For the auth object or the headers alone, Auth and
// Header are cheaper.
func (s *Socket) Handshake() *Handshake {
	hs := newHandshake(s.client.conn, s.auth, s.issued)
	return &hs
}

// Auth returns the handshake's auth object as JSON ({} when the client sent
// none).
func (s *Socket) Auth() json.RawMessage { return s.auth }

// Header returns the headers of the connection's handshake request.
func (s *Socket) Header() http.Header { return s.client.conn.Header() }

// Identity returns who the client is (zero until authenticated).
func (s *Socket) Identity() Identity { return s.identity }

// SetIdentity records who the client is. Call it from a middleware, before
// the socket connects.
func (s *Socket) SetIdentity(id Identity) { s.identity = id }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool { return s.connected.Load() }

// Transport returns the connection's current transport.
func (s *Socket) Transport() string { return s.client.conn.Transport() }

// Set stores a value on the socket (Node's socket.data).
func (s *Socket) Set(key string, v any) {
	s.mu.Lock()
	if s.values == nil {
		s.values = make(map[string]any)
	}
	s.values[key] = v
	s.mu.Unlock()
}

// Get returns a value stored with Set.
func (s *Socket) Get(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.values[key]
}

// Info describes the socket as fetchSockets returns it.
func (s *Socket) Info() SocketInfo {
	data := json.RawMessage("{}") // Node's socket.data starts as {}
	s.mu.Lock()
	if len(s.values) > 0 {
		data, _ = json.Marshal(s.values)
	}
	s.mu.Unlock()
	return SocketInfo{ID: s.id, Handshake: *s.Handshake(), Rooms: s.Rooms(), Data: data}
}

// OnDisconnect registers fn to run when the socket disconnects, with the
// reason. It runs after the socket has left its rooms.
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}

// Emit sends an event to this client.
func (s *Socket) Emit(event string, args ...any) error {
	if socketio.IsReservedEvent(event) {
		return ErrReservedName
	}
	if !s.connected.Load() {
		return ErrDisconnected
	}
	p, err := socketio.NewEvent(s.nsp.name, event, args, socketio.NoID)
	if err != nil {
		return err
	}
	s.client.writePacket(p)
	return nil
}

// EmitWithAck sends an event and waits for the client's ack, or for ctx.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (socketio.Args, error) {
	if socketio.IsReservedEvent(event) {
		return socketio.Args{}, ErrReservedName
	}
	id := s.nsp.nextAckID()
	p, err := socketio.NewEvent(s.nsp.name, event, args, id)
	if err != nil {
		return socketio.Args{}, err
	}
	type result struct {
		args socketio.Args
		err  error
	}
	ch := make(chan result, 1)
	s.registerAck(id, func(a socketio.Args, err error) { ch <- result{a, err} })
	if !s.connected.Load() {
		s.takeAck(id)
		return socketio.Args{}, ErrDisconnected
	}
	s.client.writePacket(p)
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		s.takeAck(id)
		return socketio.Args{}, ErrAckTimeout
	}
}

func (s *Socket) registerAck(id int64, fn func(socketio.Args, error)) {
	s.mu.Lock()
	if s.acks == nil {
		s.acks = make(map[int64]func(socketio.Args, error))
	}
	s.acks[id] = fn
	s.mu.Unlock()
}

func (s *Socket) takeAck(id int64) func(socketio.Args, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn := s.acks[id]
	delete(s.acks, id)
	return fn
}

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...Room) { s.nsp.adapter.AddAll(s.id, rooms) }

// Leave removes the socket from a room.
func (s *Socket) Leave(room Room) { s.nsp.adapter.Del(s.id, room) }

// Rooms returns the socket's rooms (its own id among them).
func (s *Socket) Rooms() []Room { return s.nsp.adapter.SocketRooms(s.id) }

// InRoom reports whether the socket is in room.
func (s *Socket) InRoom(room Room) bool {
	if m, ok := s.nsp.adapter.(interface{ HasRoom(*Socket, Room) bool }); ok {
		return m.HasRoom(s, room)
	}
	for _, r := range s.Rooms() {
		if r == room {
			return true
		}
	}
	return false
}

// To returns a broadcast to rooms that leaves this socket out (Node's
// socket.to).
func (s *Socket) To(rooms ...Room) *BroadcastOperator {
	return newBroadcast(s.nsp, BroadcastOptions{Rooms: rooms, Except: []Room{s.id}})
}

// Disconnect sends the client a DISCONNECT for this namespace (the client
// sees "io server disconnect"). With close, the whole connection is closed
// after it.
func (s *Socket) Disconnect(close bool) {
	if !s.connected.Load() {
		return
	}
	if close {
		s.client.disconnectAll()
		return
	}
	s.client.writePacket(&socketio.Packet{Type: socketio.Disconnect, Nsp: s.nsp.name, ID: socketio.NoID})
	s.onClose(ReasonServerNSDisconnect)
}

// onPacket handles a packet for this socket, in the order received.
func (s *Socket) onPacket(p *socketio.Packet) {
	switch p.Type {
	case socketio.Event, socketio.BinaryEvent:
		s.nsp.dispatch(s, p)
	case socketio.Ack, socketio.BinaryAck:
		fn := s.takeAck(p.ID)
		if fn == nil {
			return
		}
		args, err := socketio.SplitAck(p)
		fn(args, err)
	case socketio.Disconnect:
		s.onClose(ReasonClientNSDisconnect)
	}
}

// onClose ends the socket once: it leaves its rooms, the namespace forgets
// it, pending acks fail, and the disconnect callbacks run.
func (s *Socket) onClose(reason string) {
	if !s.connected.CompareAndSwap(true, false) {
		return
	}
	s.nsp.adapter.DelAll(s.id)
	s.nsp.remove(s)
	s.client.removeSocket(s)
	s.mu.Lock()
	acks := s.acks
	s.acks = nil
	cbs := s.onDisconnect
	s.mu.Unlock()
	for _, fn := range acks {
		fn(socketio.Args{}, ErrDisconnected)
	}
	for _, fn := range cbs {
		s.nsp.safeCall("disconnect", func() { fn(reason) })
	}
	s.nsp.srv.onSocketClosed(s, reason)
}

func newHandshake(conn *engineio.Session, auth json.RawMessage, now time.Time) Handshake {
	header, query := conn.Header(), conn.Query()
	_, xdomain := header["Origin"]
	u := url.URL{Path: "/socket.io/", RawQuery: query.Encode()}
	return Handshake{
		Headers: header,
		Time:    now.UTC().Format("Mon Jan 02 2006 15:04:05 GMT+0000 (Coordinated Universal Time)"),
		Address: conn.RemoteAddr(),
		XDomain: xdomain,
		Secure:  conn.Secure(),
		Issued:  now.UnixMilli(),
		URL:     u.String(),
		Query:   query,
		Auth:    auth,
	}
}
