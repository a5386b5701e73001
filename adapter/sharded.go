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
	*server.MemoryAdapter
	r    *Redis
	nsp  *server.Namespace
	name string
	uid  string

	channel, responseChannel string

	requestTable
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
	a := &shardedNS{
		MemoryAdapter: server.NewMemory(nsp),
		r:             r,
		nsp:           nsp,
		name:          nsp.Name(),
		uid:           newClusterUID(),
		requestTable:  newRequestTable(),
	}
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

// Distributed implements server.Distributed.
func (a *shardedNS) Distributed() bool { return true }

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

func (a *shardedNS) publishTo(channel string, kind int, data socketio.Map) {
	b, err := encodeCluster(a.message(kind, data))
	if err != nil {
		a.r.log.Error("cluster message not published", "type", kind, "err", err)
		return
	}
	a.r.publish(channel, b)
}

// respond sends a response to the instance that asked.
func (a *shardedNS) respond(requester string, kind int, data socketio.Map) {
	a.publishTo(a.channel+requester+"#", kind, data)
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

// Broadcast implements server.Adapter.
func (a *shardedNS) Broadcast(p *socketio.Packet, opts server.BroadcastOptions) {
	a.MemoryAdapter.Broadcast(p, opts)
	if opts.Flags.Local {
		return
	}
	pv, err := clusterPacket(p)
	if err != nil {
		a.r.log.Error("broadcast not published", "err", err)
		return
	}
	a.publishTo(a.broadcastChannel(opts), msgBroadcast, socketio.Map{
		Keys:   []string{"packet", "opts"},
		Values: []any{pv, optionsValue(opts, true)},
	})
}

// BroadcastWithAck implements server.Adapter: always on the namespace
// channel, as Node (the server count covers every instance).
func (a *shardedNS) BroadcastWithAck(p *socketio.Packet, opts server.BroadcastOptions, clientCount func(int), ack func(socketio.Args)) {
	if !opts.Flags.Local {
		pv, err := clusterPacket(p)
		if err != nil {
			a.r.log.Error("broadcast with ack not published", "err", err)
		} else {
			requestID := newClusterUID()
			timeout := opts.Flags.Timeout
			if timeout <= 0 {
				timeout = a.r.cfg.RequestsTimeout
			}
			a.addAck(requestID, timeout, clientCount, ack)
			a.publishTo(a.channel, msgBroadcast, socketio.Map{
				Keys:   []string{"packet", "requestId", "opts"},
				Values: []any{pv, requestID, optionsValue(opts, true)},
			})
		}
	}
	a.MemoryAdapter.BroadcastWithAck(p, opts, clientCount, ack)
}

// ServerCount implements server.Adapter: the subscribers of the namespace
// channel (PUBSUB SHARDNUMSUB).
func (a *shardedNS) ServerCount(ctx context.Context) (int, error) {
	ctx, cancel := a.bound(ctx)
	defer cancel()
	res, err := a.r.cfg.Client.PubSubShardNumSub(ctx, a.channel).Result()
	if err != nil {
		return 0, err
	}
	return int(res[a.channel]), nil
}

func (a *shardedNS) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.r.cfg.RequestsTimeout)
}

// FetchSockets implements server.Adapter.
func (a *shardedNS) FetchSockets(ctx context.Context, opts server.BroadcastOptions) ([]server.SocketInfo, error) {
	local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	ctx, cancel := a.bound(ctx)
	defer cancel()
	n, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n <= 1 {
		return local, nil
	}
	requestID := newClusterUID()
	p := a.addPending(requestID, msgFetchSockets, n-1)
	defer a.removePending(requestID)
	a.publishTo(a.channel, msgFetchSockets, socketio.Map{
		Keys:   []string{"opts", "requestId"},
		Values: []any{optionsValue(opts, true), requestID},
	})
	if err := a.wait(ctx, p, "fetchSockets"); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return append(local, p.sockets...), nil
}

// ServerSideEmit implements server.Adapter. Binary arguments are fine
// here: the message then goes as msgpack, as Node sends it.
func (a *shardedNS) ServerSideEmit(ctx context.Context, event string, args []any, withAck bool) ([]socketio.Args, error) {
	var atts [][]byte
	data, err := socketio.AppendValue(nil, append([]any{event}, args...), &atts)
	if err != nil {
		return nil, err
	}
	packet, err := socketio.Args{Raw: []json.RawMessage{data}, Attachments: atts}.Value(0)
	if err != nil {
		return nil, err
	}
	if !withAck {
		a.publishTo(a.channel, msgServerSideEmit, socketio.Map{Keys: []string{"packet"}, Values: []any{packet}})
		return nil, nil
	}
	ctx, cancel := a.bound(ctx)
	defer cancel()
	n, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n-1 <= 0 {
		return nil, nil
	}
	requestID := newClusterUID()
	p := a.addPending(requestID, msgServerSideEmit, n-1)
	defer a.removePending(requestID)
	a.publishTo(a.channel, msgServerSideEmit, socketio.Map{
		Keys:   []string{"requestId", "packet"},
		Values: []any{requestID, packet},
	})
	err = a.wait(ctx, p, "serverSideEmit")
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]socketio.Args(nil), p.answers...), err
}

// AddSockets implements server.Adapter.
func (a *shardedNS) AddSockets(opts server.BroadcastOptions, rooms []server.Room) {
	if !opts.Flags.Local {
		a.publishTo(a.channel, msgSocketsJoin, socketio.Map{
			Keys:   []string{"opts", "rooms"},
			Values: []any{optionsValue(opts, true), roomsValue(rooms)},
		})
	}
	a.addLocal(opts, rooms)
}

// DelSockets implements server.Adapter.
func (a *shardedNS) DelSockets(opts server.BroadcastOptions, rooms []server.Room) {
	if !opts.Flags.Local {
		a.publishTo(a.channel, msgSocketsLeave, socketio.Map{
			Keys:   []string{"opts", "rooms"},
			Values: []any{optionsValue(opts, true), roomsValue(rooms)},
		})
	}
	a.delLocal(opts, rooms)
}

// DisconnectSockets implements server.Adapter.
func (a *shardedNS) DisconnectSockets(opts server.BroadcastOptions, close bool) {
	if !opts.Flags.Local {
		a.publishTo(a.channel, msgDisconnectSockets, socketio.Map{
			Keys:   []string{"opts", "close"},
			Values: []any{optionsValue(opts, true), close},
		})
	}
	a.MemoryAdapter.DisconnectSockets(opts, close)
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
	a.r.mu.Lock()
	for _, ch := range channels {
		if a.r.byShard[ch] == a {
			delete(a.r.byShard, ch)
		}
	}
	closed := a.r.closed
	a.r.mu.Unlock()
	a.failPending()
	if closed {
		return nil
	}
	ctx, cancel := context.WithTimeout(a.r.ctx, a.r.cfg.PublishTimeout)
	defer cancel()
	return a.r.ps.SUnsubscribe(ctx, channels...)
}
