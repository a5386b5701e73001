package adapter

import (
	"encoding/json"

	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

// onBroadcast handles a message of the broadcast channels: msgpack
// [uid, packet, opts], from a Node or Go adapter or a redis-emitter.
func (a *nsAdapter) onBroadcast(channel string, payload []byte) error {
	v, err := decodeMsgpack(payload)
	if err != nil {
		return err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) < 3 {
		return malformed("broadcast is not [uid, packet, opts]")
	}
	if uid, _ := arr[0].(string); uid == a.r.uid {
		return nil
	}
	pm, ok := arr[1].(socketio.Map)
	if !ok {
		return malformed("broadcast packet is %T", arr[1])
	}
	nsp := "/"
	if n, ok := pm.Get("nsp"); ok && n != nil {
		nsp, _ = n.(string)
	}
	if nsp != a.name {
		return nil
	}
	om, ok := arr[2].(socketio.Map)
	if !ok {
		return malformed("broadcast options are %T", arr[2])
	}
	p, err := packetFromValue(pm, a.name)
	if err != nil {
		return err
	}
	a.MemoryAdapter.Broadcast(p, wireOptions(om))
	return nil
}

// onRequest handles a message of the request channel.
func (a *nsAdapter) onRequest(payload []byte) error {
	req, err := decodeWire(payload)
	if err != nil {
		return err
	}
	kind, ok := fieldNumber(req, "type")
	if !ok {
		return malformed("request without a type")
	}
	uid, _ := fieldString(req, "uid")
	if uid == a.r.uid {
		return nil
	}
	requestID, hasID := fieldString(req, "requestId")
	if hasID {
		if a.isMine(requestID) {
			return nil
		}
	}
	optsOf := func() server.BroadcastOptions {
		om, _ := fieldMap(req, "opts")
		return wireOptions(om)
	}
	_, hasOpts := fieldMap(req, "opts")
	switch int(kind) {
	case reqSockets:
		ids := a.MemoryAdapter.Sockets(roomList(field(req, "rooms")))
		a.respond(socketio.Map{Keys: []string{"requestId", "sockets"}, Values: []any{requestID, roomsValue(ids)}})
	case reqAllRooms:
		a.respond(socketio.Map{Keys: []string{"requestId", "rooms"}, Values: []any{requestID, roomsValue(a.MemoryAdapter.RoomNames(""))}})
	case reqRemoteJoin, reqRemoteLeave, reqRemoteDisconnect:
		if !hasOpts { // the single-socket form of older versions
			sid, _ := fieldString(req, "sid")
			room, _ := fieldString(req, "room")
			if a.MemoryAdapter.SocketRooms(sid) == nil {
				return nil
			}
			one := server.BroadcastOptions{Rooms: []server.Room{sid}}
			switch int(kind) {
			case reqRemoteJoin:
				a.MemoryAdapter.AddSockets(one, []server.Room{room})
			case reqRemoteLeave:
				a.MemoryAdapter.DelSockets(one, []server.Room{room})
			default:
				a.MemoryAdapter.DisconnectSockets(one, field(req, "close") == true)
			}
			a.respond(socketio.Map{Keys: []string{"requestId"}, Values: []any{requestID}})
			return nil
		}
		switch int(kind) {
		case reqRemoteJoin:
			a.MemoryAdapter.AddSockets(optsOf(), roomList(field(req, "rooms")))
		case reqRemoteLeave:
			a.MemoryAdapter.DelSockets(optsOf(), roomList(field(req, "rooms")))
		default:
			a.MemoryAdapter.DisconnectSockets(optsOf(), field(req, "close") == true)
		}
	case reqRemoteFetch:
		a.respond(socketio.Map{Keys: []string{"requestId", "sockets"}, Values: []any{requestID, a.localSocketsValue(optsOf())}})
	case reqServerSideEmit:
		a.onServerSideEmit(req, requestID, hasID)
	case reqBroadcast:
		return a.broadcastForAck(field(req, "packet"), optsOf(), func(n int) {
			a.respond(socketio.Map{
				Keys:   []string{"type", "requestId", "clientCount"},
				Values: []any{float64(reqBroadcastClientCount), requestID, float64(n)},
			})
		}, func(arg any) {
			msg, err := encodeMsgpack(socketio.Map{
				Keys:   []string{"type", "requestId", "packet"},
				Values: []any{float64(reqBroadcastAck), requestID, arg},
			})
			if err == nil {
				a.r.publish(a.responseChannel, msg)
			}
		})
	default:
		return errUnknownType
	}
	return nil
}

func (a *nsAdapter) respond(m socketio.Map) {
	a.r.publish(a.responseChannel, jsonMessage(m))
}

func (a *nsAdapter) onServerSideEmit(req socketio.Map, requestID string, withAck bool) {
	data, _ := field(req, "data").([]any)
	var ack func(any)
	if withAck {
		ack = onceAck(func(arg any) {
			b, err := socketio.AppendValue(nil, arg, nil)
			if err != nil {
				a.r.log.Error("serverSideEmit ack not sent", "err", err)
				return
			}
			a.respond(socketio.Map{
				Keys:   []string{"type", "requestId", "data"},
				Values: []any{float64(reqServerSideEmit), requestID, json.RawMessage(b)},
			})
		})
	}
	deliverServerSide(a.nsp, data, ack)
}

// onResponse handles a message of the response channels.
func (a *nsAdapter) onResponse(payload []byte) error {
	res, err := decodeWire(payload)
	if err != nil {
		return err
	}
	requestID, _ := fieldString(res, "requestId")
	ap, p := a.lookup(requestID)
	if ap != nil {
		kind, _ := fieldNumber(res, "type")
		switch int(kind) {
		case reqBroadcastClientCount:
			n, _ := fieldNumber(res, "clientCount")
			ap.clientCount(int(n))
		case reqBroadcastAck:
			ap.ack(argsOf(field(res, "packet")))
		}
		return nil
	}
	if p != nil { // else another instance's request
		a.answer(p, field(res, "sockets"), field(res, "data"))
	}
	return nil
}
