package server

import (
	"context"
	"strings"
	"sync"

	"github.com/tradedash/realtime/server/socketio"
)

// MemoryAdapter is the in-memory adapter of one namespace on one instance.
// Other adapters embed it for their local part.
type MemoryAdapter struct {
	nsp *Namespace

	mu    sync.RWMutex
	rooms map[Room]map[*Socket]struct{}
	sids  map[*Socket][]Room
}

// NewMemoryAdapter returns the in-memory adapter for nsp.
func NewMemoryAdapter(nsp *Namespace) Adapter { return NewMemory(nsp) }

// NewMemory returns the in-memory adapter as its concrete type.
func NewMemory(nsp *Namespace) *MemoryAdapter {
	return &MemoryAdapter{nsp: nsp, rooms: make(map[Room]map[*Socket]struct{}), sids: make(map[*Socket][]Room)}
}

// AddAll implements Adapter.
func (a *MemoryAdapter) AddAll(id string, rooms []Room) {
	s := a.nsp.LocalSocket(id)
	if s == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	have := a.sids[s]
	for _, r := range rooms {
		members := a.rooms[r]
		if members == nil {
			members = make(map[*Socket]struct{}, 1)
			a.rooms[r] = members
		}
		if _, ok := members[s]; ok {
			continue
		}
		members[s] = struct{}{}
		have = append(have, r)
	}
	a.sids[s] = have
}

// Del implements Adapter.
func (a *MemoryAdapter) Del(id string, room Room) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.findLocked(id)
	if s == nil {
		return
	}
	rooms := a.sids[s]
	for i, r := range rooms {
		if r == room {
			a.sids[s] = append(rooms[:i], rooms[i+1:]...)
			a.leaveLocked(s, room)
			return
		}
	}
}

func (a *MemoryAdapter) leaveLocked(s *Socket, room Room) {
	if members := a.rooms[room]; members != nil {
		delete(members, s)
		if len(members) == 0 {
			delete(a.rooms, room)
		}
	}
}

// findLocked finds a socket by id among the adapter's members (the socket
// may already be gone from the namespace).
func (a *MemoryAdapter) findLocked(id string) *Socket {
	for s := range a.rooms[id] {
		return s
	}
	return nil
}

// DelAll implements Adapter.
func (a *MemoryAdapter) DelAll(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.findLocked(id)
	if s == nil {
		return
	}
	for _, r := range a.sids[s] {
		a.leaveLocked(s, r)
	}
	delete(a.sids, s)
}

// SocketRooms implements Adapter.
func (a *MemoryAdapter) SocketRooms(id string) []Room {
	a.mu.RLock()
	defer a.mu.RUnlock()
	s := a.findLocked(id)
	if s == nil {
		return nil
	}
	return append([]Room(nil), a.sids[s]...)
}

// HasRoom reports whether a local socket is in room.
func (a *MemoryAdapter) HasRoom(s *Socket, room Room) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	_, ok := a.rooms[room][s]
	return ok
}

// Sockets implements Adapter.
func (a *MemoryAdapter) Sockets(rooms []Room) []string {
	var ids []string
	a.apply(BroadcastOptions{Rooms: rooms}, func(s *Socket) { ids = append(ids, s.id) })
	return ids
}

// RoomNames implements Adapter.
func (a *MemoryAdapter) RoomNames(prefix string) []Room {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []Room
	for r := range a.rooms {
		if strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}
	return out
}

var targetPool = sync.Pool{New: func() any { s := make([]*Socket, 0, 64); return &s }}

// apply calls fn for every selected local socket. The selection is taken
// under the lock, fn runs outside it (fn may disconnect sockets).
func (a *MemoryAdapter) apply(opts BroadcastOptions, fn func(*Socket)) {
	tp := targetPool.Get().(*[]*Socket)
	targets := a.selectLocked(opts, (*tp)[:0])
	for i, s := range targets {
		fn(s)
		targets[i] = nil
	}
	if cap(targets) <= 1<<16 {
		*tp = targets[:0]
		targetPool.Put(tp)
	}
}

func (a *MemoryAdapter) selectLocked(opts BroadcastOptions, out []*Socket) []*Socket {
	a.mu.RLock()
	defer a.mu.RUnlock()
	excluded := func(s *Socket) bool {
		for _, r := range opts.Except {
			if _, ok := a.rooms[r][s]; ok {
				return true
			}
		}
		return false
	}
	switch len(opts.Rooms) {
	case 0:
		for s := range a.sids {
			if !excluded(s) {
				out = append(out, s)
			}
		}
	case 1:
		for s := range a.rooms[opts.Rooms[0]] {
			if !excluded(s) {
				out = append(out, s)
			}
		}
	default:
		seen := make(map[*Socket]struct{})
		for _, r := range opts.Rooms {
			for s := range a.rooms[r] {
				if _, dup := seen[s]; dup || excluded(s) {
					continue
				}
				seen[s] = struct{}{}
				out = append(out, s)
			}
		}
	}
	return out
}

// Broadcast implements Adapter: the packet is encoded once and the same
// bytes go to every recipient. Over WebSocket, the recipients' engine.io sessions only queue the packet
// for the flushers (engineio/flush.go), which write on every CPU.
func (a *MemoryAdapter) Broadcast(p *socketio.Packet, opts BroadcastOptions) {
	enc := encodePacket(p, !opts.Flags.NoCompress, true)
	volatile := opts.Flags.Volatile
	a.apply(opts, func(s *Socket) { s.write(enc, volatile) })
}

// BroadcastWithAck implements Adapter.
func (a *MemoryAdapter) BroadcastWithAck(p *socketio.Packet, opts BroadcastOptions, clientCount func(int), ack func(socketio.Args)) {
	enc := encodePacket(p, !opts.Flags.NoCompress, true)
	n := 0
	a.apply(opts, func(s *Socket) {
		s.registerAck(p.ID, func(args socketio.Args, err error) {
			if err == nil {
				ack(args)
			}
		})
		s.write(enc, opts.Flags.Volatile)
		n++
	})
	clientCount(n)
}

// LocalSockets returns the selected local sockets.
func (a *MemoryAdapter) LocalSockets(opts BroadcastOptions) []*Socket {
	var out []*Socket
	a.apply(opts, func(s *Socket) { out = append(out, s) })
	return out
}

// FetchSockets implements Adapter for this instance.
func (a *MemoryAdapter) FetchSockets(_ context.Context, opts BroadcastOptions) ([]SocketInfo, error) {
	var out []SocketInfo
	a.apply(opts, func(s *Socket) { out = append(out, s.Info()) })
	return out, nil
}

// AddSockets implements Adapter for this instance.
func (a *MemoryAdapter) AddSockets(opts BroadcastOptions, rooms []Room) {
	a.apply(opts, func(s *Socket) { a.AddAll(s.id, rooms) })
}

// DelSockets implements Adapter for this instance.
func (a *MemoryAdapter) DelSockets(opts BroadcastOptions, rooms []Room) {
	a.apply(opts, func(s *Socket) {
		for _, r := range rooms {
			a.Del(s.id, r)
		}
	})
}

// DisconnectSockets implements Adapter for this instance.
func (a *MemoryAdapter) DisconnectSockets(opts BroadcastOptions, close bool) {
	a.apply(opts, func(s *Socket) { s.Disconnect(close) })
}

// ServerSideEmit implements Adapter: with one instance there is nobody to
// tell.
func (a *MemoryAdapter) ServerSideEmit(context.Context, string, []any, bool) ([]socketio.Args, error) {
	return nil, nil
}

// ServerCount implements Adapter.
func (a *MemoryAdapter) ServerCount(context.Context) (int, error) { return 1, nil }

// Close implements Adapter.
func (a *MemoryAdapter) Close() error { return nil }
