package adapter

import (
	"encoding/json"

	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

// onRaw handles a message of one of the namespace's channels: JSON when it
// starts with '{', msgpack otherwise, as Node tells them apart.
func (a *shardedNS) onRaw(channel string, payload []byte) error {
	msg, err := decodeWire(payload)
	if err != nil {
		return err
	}
	if _, ok := fieldNumber(msg, "type"); !ok {
		return malformed("cluster message without a type")
	}
	if channel == a.responseChannel {
		return a.onResponse(msg)
	}
	return a.onMessage(msg)
}

// onMessage is ClusterAdapter.onMessage: a message of another instance.
func (a *shardedNS) onMessage(msg socketio.Map) error {
	uid, _ := fieldString(msg, "uid")
	if uid == a.uid {
		return nil
	}
	if nsp, _ := fieldString(msg, "nsp"); nsp != a.name {
		return nil
	}
	kind, _ := fieldNumber(msg, "type")
	data, _ := fieldMap(msg, "data")
	opts := func() server.BroadcastOptions {
		om, _ := fieldMap(data, "opts")
		return wireOptions(om)
	}
	requestID, withID := fieldString(data, "requestId")
	switch int(kind) {
	case msgBroadcast:
		p, err := packetFromValue(field(data, "packet"), a.name)
		if err != nil {
			return err
		}
		if !withID {
			a.MemoryAdapter.Broadcast(p, opts())
			return nil
		}
		p.ID = a.nsp.NextAckID()
		a.MemoryAdapter.BroadcastWithAck(p, opts(), func(n int) {
			a.respond(uid, msgBroadcastClientCount, socketio.Map{
				Keys:   []string{"requestId", "clientCount"},
				Values: []any{requestID, float64(n)},
			})
		}, func(args socketio.Args) {
			a.respond(uid, msgBroadcastAck, socketio.Map{
				Keys:   []string{"requestId", "packet"},
				Values: []any{requestID, firstArg(args)},
			})
		})
	case msgSocketsJoin:
		a.addLocal(opts(), roomList(field(data, "rooms")))
	case msgSocketsLeave:
		a.delLocal(opts(), roomList(field(data, "rooms")))
	case msgDisconnectSockets:
		a.MemoryAdapter.DisconnectSockets(opts(), field(data, "close") == true)
	case msgFetchSockets:
		local := a.MemoryAdapter.LocalSockets(opts())
		sockets := make([]any, 0, len(local))
		for _, s := range local {
			info := s.Info()
			sockets = append(sockets, socketio.Map{
				Keys:   []string{"id", "handshake", "rooms", "data"},
				Values: []any{info.ID, nodeHandshake(info.Handshake), roomsValue(info.Rooms), json.RawMessage(info.Data)},
			})
		}
		a.respond(uid, msgFetchSocketsResponse, socketio.Map{
			Keys:   []string{"requestId", "sockets"},
			Values: []any{requestID, sockets},
		})
	case msgServerSideEmit:
		packet, _ := field(data, "packet").([]any)
		var ack func(any)
		if withID {
			ack = onceAck(func(arg any) {
				a.respond(uid, msgServerSideEmitResponse, socketio.Map{
					Keys:   []string{"requestId", "packet"},
					Values: []any{requestID, jsValue(arg)},
				})
			})
		}
		deliverServerSide(a.nsp, packet, ack)
	case msgBroadcastClientCount, msgBroadcastAck, msgFetchSocketsResponse, msgServerSideEmitResponse:
		return a.onResponse(msg)
	case msgInitialHeartbeat, msgHeartbeat, msgAdapterClose:
		// ClusterAdapterWithHeartbeat's; 8.3's sharded adapter counts
		// instances with SHARDNUMSUB and sends none, nor do we.
	default:
		return errUnknownType
	}
	return nil
}

// jsValue is a value a handler acks with, in the decoded form our codecs
// write (JSON-marshalable Go values through their JSON).
func jsValue(v any) any {
	var atts [][]byte
	b, err := socketio.AppendValue(nil, v, &atts)
	if err != nil {
		return nil
	}
	out, err := socketio.Args{Raw: []json.RawMessage{b}, Attachments: atts}.Value(0)
	if err != nil {
		return nil
	}
	return out
}

// onResponse is ClusterAdapter.onResponse: an answer to a request of ours.
func (a *shardedNS) onResponse(res socketio.Map) error {
	kind, _ := fieldNumber(res, "type")
	data, _ := fieldMap(res, "data")
	requestID, _ := fieldString(data, "requestId")
	a.mu.Lock()
	ap := a.ackRequests[requestID]
	p := a.requests[requestID]
	a.mu.Unlock()
	switch int(kind) {
	case msgBroadcastClientCount:
		if ap != nil {
			n, _ := fieldNumber(data, "clientCount")
			ap.clientCount(int(n))
		}
		return nil
	case msgBroadcastAck:
		if ap != nil {
			ap.ack(argsOf(field(data, "packet")))
		}
		return nil
	case msgFetchSocketsResponse, msgServerSideEmitResponse:
	default:
		return errUnknownType
	}
	if p == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if p.closed || p.kind != requestOf(int(kind)) {
		return nil
	}
	p.got++
	if p.kind == msgFetchSockets {
		list, _ := field(data, "sockets").([]any)
		for _, s := range list {
			if info, ok := socketInfoOf(s); ok {
				p.sockets = append(p.sockets, info)
			}
		}
	} else {
		p.answers = append(p.answers, argsOf(field(data, "packet")))
	}
	p.finishLocked()
	return nil
}

// requestOf is the request type a response type answers.
func requestOf(response int) int {
	if response == msgFetchSocketsResponse {
		return msgFetchSockets
	}
	return msgServerSideEmit
}
