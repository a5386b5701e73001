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
		if !withID {
			p, err := packetFromValue(field(data, "packet"), a.name)
			if err != nil {
				return err
			}
			a.MemoryAdapter.Broadcast(p, opts())
			return nil
		}
		return a.broadcastForAck(field(data, "packet"), opts(), func(n int) {
			a.respond(uid, msgBroadcastClientCount, socketio.Map{
				Keys:   []string{"requestId", "clientCount"},
				Values: []any{requestID, float64(n)},
			})
		}, func(arg any) {
			a.respond(uid, msgBroadcastAck, socketio.Map{
				Keys:   []string{"requestId", "packet"},
				Values: []any{requestID, arg},
			})
		})
	case msgSocketsJoin:
		a.addLocal(opts(), roomList(field(data, "rooms")))
	case msgSocketsLeave:
		a.delLocal(opts(), roomList(field(data, "rooms")))
	case msgDisconnectSockets:
		a.MemoryAdapter.DisconnectSockets(opts(), field(data, "close") == true)
	case msgFetchSockets:
		a.respond(uid, msgFetchSocketsResponse, socketio.Map{
			Keys:   []string{"requestId", "sockets"},
			Values: []any{requestID, a.localSocketsValue(opts())},
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
	ap, p := a.lookup(requestID)
	switch int(kind) {
	case msgBroadcastClientCount:
		if ap != nil {
			n, _ := fieldNumber(data, "clientCount")
			ap.clientCount(int(n))
		}
	case msgBroadcastAck:
		if ap != nil {
			ap.ack(argsOf(field(data, "packet")))
		}
	case msgFetchSocketsResponse:
		if p != nil && p.kind == pendingFetch {
			a.answer(p, field(data, "sockets"), nil)
		}
	case msgServerSideEmitResponse:
		if p != nil && p.kind == pendingEmit {
			a.answer(p, nil, field(data, "packet"))
		}
	default:
		return errUnknownType
	}
	return nil
}
