package adapter

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

var errUnknownType = errors.New("adapter: unknown message type")

// nsAdapter is one namespace's adapter in classic mode: broadcasts as
// msgpack [uid, packet, opts] on "<key>#<nsp>#" (and "<key>#<nsp>#<room>#"
// for one room), requests as JSON on "<key>-request#<nsp>#", responses on
// "<key>-response#<nsp>#" and the instance's own "...#<uid>#".
type nsAdapter struct {
	core

	channel, requestChannel, responseChannel, specificResponseChannel string
}

var (
	_ server.Adapter     = (*nsAdapter)(nil)
	_ server.Distributed = (*nsAdapter)(nil)
)

func (r *Redis) newNamespace(nsp *server.Namespace) *nsAdapter {
	prefix := r.cfg.Key
	a := &nsAdapter{
		channel:         prefix + "#" + nsp.Name() + "#",
		requestChannel:  prefix + "-request#" + nsp.Name() + "#",
		responseChannel: prefix + "-response#" + nsp.Name() + "#",
	}
	a.core = newCore(r, nsp, a)
	a.specificResponseChannel = a.responseChannel + r.uid + "#"
	r.mu.Lock()
	r.byPattern[a.channel+"*"] = a
	for _, ch := range []string{a.requestChannel, a.responseChannel, a.specificResponseChannel} {
		r.byChannel[ch] = a
	}
	r.mu.Unlock()
	// go-redis records the subscriptions before sending them, so even when
	// Redis is down now they are made on (re)connection.
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.PublishTimeout)
	defer cancel()
	if err := r.ps.PSubscribe(ctx, a.channel+"*"); err != nil {
		r.log.Warn("psubscribe failed, retried on reconnection", "nsp", a.name, "err", err)
	}
	if err := r.ps.Subscribe(ctx, a.requestChannel, a.responseChannel, a.specificResponseChannel); err != nil {
		r.log.Warn("subscribe failed, retried on reconnection", "nsp", a.name, "err", err)
	}
	return a
}

// countServers counts the subscribers of the request channel (PUBSUB
// NUMSUB), as Node does.
func (a *nsAdapter) countServers(ctx context.Context) (int, error) {
	res, err := a.r.cfg.Client.PubSubNumSub(ctx, a.requestChannel).Result()
	if err != nil {
		return 0, err
	}
	return int(res[a.requestChannel]), nil
}

func (a *nsAdapter) newRequestID() string { return newUID(6) }

// request is a JSON message of the request channel.
func (a *nsAdapter) request(m socketio.Map) (outgoing, error) {
	return outgoing{a.requestChannel, jsonMessage(m)}, nil
}

func (a *nsAdapter) broadcastMessage(p *socketio.Packet, opts server.BroadcastOptions) (outgoing, error) {
	pv, err := packetValue(p, a.name)
	if err != nil {
		return outgoing{}, err
	}
	msg, err := encodeMsgpack([]any{a.r.uid, pv, optionsValue(opts, true)})
	if err != nil {
		return outgoing{}, err
	}
	channel := a.channel
	if len(opts.Rooms) == 1 {
		channel += opts.Rooms[0] + "#"
	}
	return outgoing{channel, msg}, nil
}

func (a *nsAdapter) broadcastAckMessage(requestID string, p *socketio.Packet, opts server.BroadcastOptions) (outgoing, error) {
	pv, err := packetValue(p, a.name)
	if err != nil {
		return outgoing{}, err
	}
	msg, err := encodeMsgpack(socketio.Map{
		Keys:   []string{"uid", "requestId", "type", "packet", "opts"},
		Values: []any{a.r.uid, requestID, float64(reqBroadcast), pv, optionsValue(opts, true)},
	})
	if err != nil {
		return outgoing{}, err
	}
	return outgoing{a.requestChannel, msg}, nil
}

func (a *nsAdapter) fetchMessage(requestID string, opts server.BroadcastOptions) (outgoing, error) {
	return a.request(socketio.Map{
		Keys:   []string{"uid", "requestId", "type", "opts"},
		Values: []any{a.r.uid, requestID, float64(reqRemoteFetch), optionsValue(opts, false)},
	})
}

// emitData: the event goes out as JSON, as Node sends it, so binary
// arguments are refused (ErrBinaryNotAllowed).
func (a *nsAdapter) emitData(event string, args []any) (any, error) {
	var atts [][]byte
	data, err := socketio.AppendValue(nil, append([]any{event}, args...), &atts)
	if err != nil {
		return nil, err
	}
	if len(atts) > 0 {
		return nil, ErrBinaryNotAllowed
	}
	return json.RawMessage(data), nil
}

func (a *nsAdapter) emitMessage(requestID string, data any) (outgoing, error) {
	if requestID == "" {
		return a.request(socketio.Map{
			Keys:   []string{"uid", "type", "data"},
			Values: []any{a.r.uid, float64(reqServerSideEmit), data},
		})
	}
	return a.request(socketio.Map{
		Keys:   []string{"uid", "requestId", "type", "data"},
		Values: []any{a.r.uid, requestID, float64(reqServerSideEmit), data},
	})
}

func (a *nsAdapter) roomsMessage(kind int, opts server.BroadcastOptions, v any) (outgoing, error) {
	key := "rooms"
	if kind == reqRemoteDisconnect {
		key = "close"
	}
	return a.request(socketio.Map{
		Keys:   []string{"uid", "type", "opts", key},
		Values: []any{a.r.uid, float64(kind), optionsValue(opts, false), v},
	})
}

// Close implements server.Adapter: the namespace's subscriptions end and
// its pending requests fail.
func (a *nsAdapter) Close() error {
	return a.close(func() {
		delete(a.r.byPattern, a.channel+"*")
		for _, ch := range []string{a.requestChannel, a.responseChannel, a.specificResponseChannel} {
			delete(a.r.byChannel, ch)
		}
	}, func(ctx context.Context) error {
		err := a.r.ps.PUnsubscribe(ctx, a.channel+"*")
		if err2 := a.r.ps.Unsubscribe(ctx, a.requestChannel, a.responseChannel, a.specificResponseChannel); err == nil {
			err = err2
		}
		return err
	})
}
