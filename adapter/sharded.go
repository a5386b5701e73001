package adapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

// Message types of socket.io-adapter 2.5's ClusterAdapter, the messages of
// Node's createShardedAdapter (@socket.io/redis-adapter 8.3).
const (
	msgInitialHeartbeat       = 1
	msgHeartbeat              = 2
	msgBroadcast              = 3
	msgSocketsJoin            = 4
	msgSocketsLeave           = 5
	msgDisconnectSockets      = 6
	msgFetchSockets           = 7
	msgFetchSocketsResponse   = 8
	msgServerSideEmit         = 9
	msgServerSideEmitResponse = 10
	msgBroadcastClientCount   = 11
	msgBroadcastAck           = 12
	msgAdapterClose           = 13
)

// shardedNS is one namespace's adapter in sharded mode. Every message is
// {type, data, uid, nsp}, JSON unless its data holds binary (then
// msgpack), published with SPUBLISH to the namespace channel
// "<key>#<nsp>#", to a room's channel "<key>#<nsp>#<room>#" (broadcasts
// to one room, see SubscriptionMode), or, for responses, to the
// requester's channel "<key>#<nsp>#<uid>#". Instances are counted with
// PUBSUB SHARDNUMSUB of the namespace channel, as Node counts them.
type shardedNS struct {
	core
	uid string

	channel, responseChannel string

	rooms roomSubs
}

var (
	_ server.Adapter     = (*shardedNS)(nil)
	_ server.Distributed = (*shardedNS)(nil)
)

// newClusterUID is like socket.io-adapter's randomId: 8 random bytes in hex.
func newClusterUID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (r *Redis) newSharded(nsp *server.Namespace) *shardedNS {
	a := &shardedNS{uid: newClusterUID()}
	a.core = newCore(r, nsp, a)
	a.channel = r.cfg.Key + "#" + a.name + "#"
	a.responseChannel = a.channel + a.uid + "#"
	a.rooms.init()
	r.mu.Lock()
	r.byShard[a.channel] = a
	r.byShard[a.responseChannel] = a
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.PublishTimeout)
	defer cancel()
	// go-redis records the channels even when this fails, and subscribes
	// on (re)connection.
	if err := r.ps.SSubscribe(ctx, a.channel, a.responseChannel); err != nil {
		r.log.Warn("ssubscribe failed, retried on reconnection", "nsp", a.name, "err", err)
	}
	if r.cfg.SubscriptionMode != SubscriptionStatic {
		r.wg.Add(1)
		go a.syncRooms()
	}
	return a
}

// roomChannel is the channel of a room's broadcasts.
func (a *shardedNS) roomChannel(room server.Room) string { return a.channel + room + "#" }

// looksLikeASocketID is Node's test: any 20-character room.
func looksLikeASocketID(room server.Room) bool { return len(room) == 20 }

// broadcastChannel is Node's computeChannel for a broadcast without ack.
func (a *shardedNS) broadcastChannel(opts server.BroadcastOptions) string {
	rooms := optionsValue(opts, false)
	list, _ := field(rooms, "rooms").([]any)
	if len(list) != 1 {
		return a.channel
	}
	room := list[0].(string)
	switch a.r.cfg.SubscriptionMode {
	case SubscriptionDynamic:
		if !looksLikeASocketID(room) {
			return a.roomChannel(room)
		}
	case SubscriptionDynamicPrivate:
		return a.roomChannel(room)
	}
	return a.channel
}

// message is a ClusterMessage of ours.
func (a *shardedNS) message(kind int, data socketio.Map) socketio.Map {
	return socketio.Map{Keys: []string{"type", "data", "uid", "nsp"}, Values: []any{float64(kind), data, a.uid, a.name}}
}

// encodeCluster encodes a message as Node's sharded adapter does: JSON, or
// msgpack when it holds binary.
func encodeCluster(m socketio.Map) ([]byte, error) {
	var atts [][]byte
	b, err := socketio.AppendValue(nil, m, &atts)
	if err != nil {
		return nil, err
	}
	if len(atts) == 0 {
		return b, nil
	}
	return encodeMsgpack(m)
}

// messageTo is a message of ours to channel, encoded as Node's sharded
// adapter does.
func (a *shardedNS) messageTo(channel string, kind int, data socketio.Map) (outgoing, error) {
	b, err := encodeCluster(a.message(kind, data))
	return outgoing{channel, b}, err
}

// respond sends a response to the instance that asked.
func (a *shardedNS) respond(requester string, kind int, data socketio.Map) {
	m, err := a.messageTo(a.channel+requester+"#", kind, data)
	a.send("cluster response", m, err)
}

// clusterPacket is a packet as Node's ClusterAdapter publishes it: {type:
// 2, data: [event, ...args]}, binary values in place.
func clusterPacket(p *socketio.Packet) (socketio.Map, error) {
	data, err := socketio.Args{Raw: []json.RawMessage{p.Data}, Attachments: p.Attachments}.Value(0)
	if err != nil {
		return socketio.Map{}, err
	}
	return socketio.Map{Keys: []string{"type", "data"}, Values: []any{float64(socketio.Event), data}}, nil
}

func (a *shardedNS) broadcastMessage(p *socketio.Packet, opts server.BroadcastOptions) (outgoing, error) {
	pv, err := clusterPacket(p)
	if err != nil {
		return outgoing{}, err
	}
	return a.messageTo(a.broadcastChannel(opts), msgBroadcast, socketio.Map{
		Keys:   []string{"packet", "opts"},
		Values: []any{pv, optionsValue(opts, true)},
	})
}

// broadcastAckMessage goes always on the namespace channel, as Node's (the
// server count covers every instance).
func (a *shardedNS) broadcastAckMessage(requestID string, p *socketio.Packet, opts server.BroadcastOptions) (outgoing, error) {
	pv, err := clusterPacket(p)
	if err != nil {
		return outgoing{}, err
	}
	return a.messageTo(a.channel, msgBroadcast, socketio.Map{
		Keys:   []string{"packet", "requestId", "opts"},
		Values: []any{pv, requestID, optionsValue(opts, true)},
	})
}

// countServers counts the subscribers of the namespace channel (PUBSUB
// SHARDNUMSUB), as Node does.
func (a *shardedNS) countServers(ctx context.Context) (int, error) {
	res, err := a.r.cfg.Client.PubSubShardNumSub(ctx, a.channel).Result()
	if err != nil {
		return 0, err
	}
	return int(res[a.channel]), nil
}

func (a *shardedNS) newRequestID() string { return newClusterUID() }

func (a *shardedNS) fetchMessage(requestID string, opts server.BroadcastOptions) (outgoing, error) {
	return a.messageTo(a.channel, msgFetchSockets, socketio.Map{
		Keys:   []string{"opts", "requestId"},
		Values: []any{optionsValue(opts, true), requestID},
	})
}

// emitData: binary arguments are fine here, the message then goes as
// msgpack, as Node sends it.
func (a *shardedNS) emitData(event string, args []any) (any, error) {
	var atts [][]byte
	data, err := socketio.AppendValue(nil, append([]any{event}, args...), &atts)
	if err != nil {
		return nil, err
	}
	return socketio.Args{Raw: []json.RawMessage{data}, Attachments: atts}.Value(0)
}

func (a *shardedNS) emitMessage(requestID string, packet any) (outgoing, error) {
	if requestID == "" {
		return a.messageTo(a.channel, msgServerSideEmit, socketio.Map{Keys: []string{"packet"}, Values: []any{packet}})
	}
	return a.messageTo(a.channel, msgServerSideEmit, socketio.Map{
		Keys:   []string{"requestId", "packet"},
		Values: []any{requestID, packet},
	})
}

// roomsMessage: Node's ClusterAdapter types for reqRemoteJoin,
// reqRemoteLeave and reqRemoteDisconnect.
func (a *shardedNS) roomsMessage(kind int, opts server.BroadcastOptions, v any) (outgoing, error) {
	key, msgKind := "rooms", msgSocketsJoin
	switch kind {
	case reqRemoteLeave:
		msgKind = msgSocketsLeave
	case reqRemoteDisconnect:
		key, msgKind = "close", msgDisconnectSockets
	}
	return a.messageTo(a.channel, msgKind, socketio.Map{
		Keys:   []string{"opts", key},
		Values: []any{optionsValue(opts, true), v},
	})
}

// AddSockets implements server.Adapter. The local part goes through AddAll
// so that room channels follow the rooms (core's would not).
func (a *shardedNS) AddSockets(opts server.BroadcastOptions, rooms []server.Room) {
	a.remoteOp(opts, reqRemoteJoin, roomsValue(rooms))
	a.addLocal(opts, rooms)
}

// DelSockets implements server.Adapter, the local part through Del.
func (a *shardedNS) DelSockets(opts server.BroadcastOptions, rooms []server.Room) {
	a.remoteOp(opts, reqRemoteLeave, roomsValue(rooms))
	a.delLocal(opts, rooms)
}

// addLocal and delLocal go through AddAll and Del so that room channels
// follow the rooms.
func (a *shardedNS) addLocal(opts server.BroadcastOptions, rooms []server.Room) {
	for _, s := range a.MemoryAdapter.LocalSockets(opts) {
		a.AddAll(s.ID(), rooms)
	}
}

func (a *shardedNS) delLocal(opts server.BroadcastOptions, rooms []server.Room) {
	for _, s := range a.MemoryAdapter.LocalSockets(opts) {
		for _, r := range rooms {
			a.Del(s.ID(), r)
		}
	}
}

// Close implements server.Adapter: the namespace's channels are
// unsubscribed and its pending requests fail.
func (a *shardedNS) Close() error {
	channels := append(a.stopRooms(), a.channel, a.responseChannel)
	return a.close(func() {
		for _, ch := range channels {
			if a.r.byShard[ch] == a {
				delete(a.r.byShard, ch)
			}
		}
	}, func(ctx context.Context) error {
		return a.r.ps.SUnsubscribe(ctx, channels...)
	})
}
