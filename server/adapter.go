package server

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tradedash/realtime/server/socketio"
)

// Room is a room name. Every socket is in the room named by its own id.
type Room = string

// BroadcastFlags modify a broadcast, as Node's flags do.
type BroadcastFlags struct {
	// Volatile drops the packet for clients that cannot take it now.
	Volatile bool
	// NoCompress turns off permessage-deflate for this packet (Node's
	// compress(false)).
	NoCompress bool
	// Local keeps the broadcast on this server instance.
	Local bool
	// Timeout bounds a broadcast with acks.
	Timeout time.Duration
}

// BroadcastOptions select the recipients of a broadcast: the sockets in any
// of Rooms (every socket when empty), minus those in any of Except.
type BroadcastOptions struct {
	Rooms  []Room
	Except []Room
	Flags  BroadcastFlags
}

// SocketInfo describes a socket on any server instance, as fetchSockets
// returns it.
type SocketInfo struct {
	ID        string          `json:"id"`
	Handshake Handshake       `json:"handshake"`
	Rooms     []Room          `json:"rooms"`
	Data      json.RawMessage `json:"data"`
}

// Adapter keeps a namespace's rooms and delivers its broadcasts. The
// in-memory adapter serves one instance; the Redis adapter (package adapter)
// reaches every instance of a cluster with the wire format of Node's
// @socket.io/redis-adapter.
type Adapter interface {
	// AddAll puts a local socket in rooms.
	AddAll(id string, rooms []Room)
	// Del takes a local socket out of a room.
	Del(id string, room Room)
	// DelAll takes a local socket out of every room.
	DelAll(id string)
	// SocketRooms returns a local socket's rooms.
	SocketRooms(id string) []Room
	// Sockets returns the ids of the local sockets in any of rooms (all
	// local sockets when rooms is empty).
	Sockets(rooms []Room) []string
	// RoomNames returns the local rooms whose name starts with prefix.
	RoomNames(prefix string) []Room

	// Broadcast delivers p to the selected sockets, on every instance
	// unless opts.Flags.Local.
	Broadcast(p *socketio.Packet, opts BroadcastOptions)
	// BroadcastWithAck delivers p with an ack id to the selected sockets.
	// clientCount is called with the number of sockets reached (once per
	// instance), ack with each socket's answer.
	BroadcastWithAck(p *socketio.Packet, opts BroadcastOptions, clientCount func(int), ack func(socketio.Args))

	// FetchSockets returns the selected sockets of every instance.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]SocketInfo, error)
	// AddSockets makes the selected sockets join rooms.
	AddSockets(opts BroadcastOptions, rooms []Room)
	// DelSockets makes the selected sockets leave rooms.
	DelSockets(opts BroadcastOptions, rooms []Room)
	// DisconnectSockets disconnects the selected sockets.
	DisconnectSockets(opts BroadcastOptions, close bool)
	// ServerSideEmit sends an event to the other instances' namespaces.
	// With ack, it waits for each of them to answer (or ctx to end).
	ServerSideEmit(ctx context.Context, event string, args []any, withAck bool) ([]socketio.Args, error)
	// ServerCount returns the number of instances.
	ServerCount(ctx context.Context) (int, error)

	// Close releases the adapter's resources.
	Close() error
}

// AdapterFactory builds the adapter of a namespace.
type AdapterFactory func(nsp *Namespace) Adapter
