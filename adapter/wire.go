package adapter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

// Request types of @socket.io/redis-adapter's classic protocol.
const (
	reqSockets              = 0
	reqAllRooms             = 1
	reqRemoteJoin           = 2
	reqRemoteLeave          = 3
	reqRemoteDisconnect     = 4
	reqRemoteFetch          = 5
	reqServerSideEmit       = 6
	reqBroadcast            = 7
	reqBroadcastClientCount = 8
	reqBroadcastAck         = 9
)

// decodeWire decodes a request or response: JSON when it starts with '{'
// (as Node tests it), msgpack otherwise.
func decodeWire(b []byte) (socketio.Map, error) {
	var v any
	var err error
	if len(b) > 0 && b[0] == '{' {
		if !json.Valid(b) {
			return socketio.Map{}, malformed("invalid JSON")
		}
		v, err = socketio.Args{Raw: []json.RawMessage{b}}.Value(0)
		if err != nil {
			return socketio.Map{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	} else if v, err = decodeMsgpack(b); err != nil {
		return socketio.Map{}, err
	}
	m, ok := v.(socketio.Map)
	if !ok {
		return socketio.Map{}, malformed("not an object but %T", v)
	}
	return m, nil
}

func field(m socketio.Map, k string) any { v, _ := m.Get(k); return v }

func fieldString(m socketio.Map, k string) (string, bool) {
	s, ok := field(m, k).(string)
	return s, ok
}

func fieldNumber(m socketio.Map, k string) (float64, bool) {
	f, ok := field(m, k).(float64)
	return f, ok
}

func fieldMap(m socketio.Map, k string) (socketio.Map, bool) {
	x, ok := field(m, k).(socketio.Map)
	return x, ok
}

// roomList reads an array of room names (numbers become their string, as a
// JavaScript Set of rooms would be matched against string rooms here).
func roomList(v any) []server.Room {
	arr, _ := v.([]any)
	out := make([]server.Room, 0, len(arr))
	for _, e := range arr {
		switch x := e.(type) {
		case string:
			out = append(out, x)
		case float64:
			out = append(out, jsNumber(x))
		}
	}
	return out
}

// wireOptions reads {rooms, except, flags}.
func wireOptions(m socketio.Map) server.BroadcastOptions {
	opts := server.BroadcastOptions{Rooms: roomList(field(m, "rooms")), Except: roomList(field(m, "except"))}
	if flags, ok := fieldMap(m, "flags"); ok {
		opts.Flags.Volatile = field(flags, "volatile") == true
		opts.Flags.NoCompress = field(flags, "compress") == false
	}
	return opts
}

// optionsValue is the {rooms, except, flags} Node publishes.
func optionsValue(opts server.BroadcastOptions, withFlags bool) socketio.Map {
	except := make([]any, 0, len(opts.Except))
	for _, r := range opts.Except {
		if !slices.Contains(except, any(r)) {
			except = append(except, r)
		}
	}
	rooms := make([]any, 0, len(opts.Rooms))
	for _, r := range opts.Rooms {
		if !slices.Contains(rooms, any(r)) {
			rooms = append(rooms, r)
		}
	}
	m := socketio.Map{Keys: []string{"rooms", "except"}, Values: []any{rooms, except}}
	if withFlags {
		flags := socketio.Map{}
		if opts.Flags.Volatile {
			flags.Set("volatile", true)
		}
		if opts.Flags.NoCompress {
			flags.Set("compress", false)
		}
		if opts.Flags.Timeout > 0 {
			flags.Set("timeout", float64(opts.Flags.Timeout.Milliseconds()))
		}
		m.Set("flags", flags)
	}
	return m
}

// packetValue is a packet as Node's adapter publishes it: {type: 2, data:
// [event, ...args], nsp}, binary attachments back in place as []byte.
func packetValue(p *socketio.Packet, nsp string) (socketio.Map, error) {
	data, err := socketio.Args{Raw: []json.RawMessage{p.Data}, Attachments: p.Attachments}.Value(0)
	if err != nil {
		return socketio.Map{}, err
	}
	return socketio.Map{Keys: []string{"type", "data", "nsp"}, Values: []any{float64(socketio.Event), data, nsp}}, nil
}

// packetFromValue is the packet a client gets for a published packet
// value, JSON in JSON.stringify's form and binary values as attachments.
func packetFromValue(v any, nsp string) (*socketio.Packet, error) {
	m, ok := v.(socketio.Map)
	if !ok {
		return nil, malformed("packet is %T", v)
	}
	if t, _ := fieldNumber(m, "type"); t != float64(socketio.Event) && t != float64(socketio.BinaryEvent) {
		return nil, malformed("packet type %v", field(m, "type"))
	}
	data, ok := field(m, "data").([]any)
	if !ok || len(data) == 0 {
		return nil, malformed("packet data is %T", field(m, "data"))
	}
	var atts [][]byte
	enc, err := socketio.AppendValue(nil, data, &atts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	t := socketio.Event
	if len(atts) > 0 {
		t = socketio.BinaryEvent
	}
	return &socketio.Packet{Type: t, Nsp: nsp, ID: socketio.NoID, Data: enc, Attachments: atts}, nil
}

// argsOf turns decoded values into Args (binary values as attachments).
func argsOf(vals ...any) socketio.Args {
	var a socketio.Args
	for _, v := range vals {
		enc, err := socketio.AppendValue(nil, v, &a.Attachments)
		if err != nil {
			enc = []byte("null")
		}
		a.Raw = append(a.Raw, enc)
	}
	return a
}

// firstArg is the single value Node passes on for a client's ack (its
// first argument, undefined when there is none).
func firstArg(a socketio.Args) any {
	if a.Len() == 0 {
		return nil
	}
	v, err := a.Value(0)
	if err != nil {
		return nil
	}
	return v
}

// nodeHandshake writes a handshake as Node's socket.handshake serializes:
// lowercase header names with string values, the query as an object.
func nodeHandshake(h server.Handshake) json.RawMessage {
	b := []byte(`{"headers":{`)
	keys := make([]string, 0, len(h.Headers))
	for k := range h.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		lk := strings.ToLower(k)
		b = socketio.AppendString(b, lk)
		b = append(b, ':')
		vals := h.Headers[k]
		if lk == "set-cookie" {
			b, _ = socketio.AppendValue(b, vals, nil)
		} else {
			b = socketio.AppendString(b, strings.Join(vals, ", "))
		}
	}
	b = append(b, `},"time":`...)
	b = socketio.AppendString(b, h.Time)
	b = append(b, `,"address":`...)
	b = socketio.AppendString(b, h.Address)
	b = append(b, `,"xdomain":`...)
	b, _ = socketio.AppendValue(b, h.XDomain, nil)
	b = append(b, `,"secure":`...)
	b, _ = socketio.AppendValue(b, h.Secure, nil)
	b = append(b, `,"issued":`...)
	b, _ = socketio.AppendValue(b, h.Issued, nil)
	b = append(b, `,"url":`...)
	b = socketio.AppendString(b, h.URL)
	b = append(b, `,"query":{`...)
	qk := make([]string, 0, len(h.Query))
	for k := range h.Query {
		qk = append(qk, k)
	}
	slices.Sort(qk)
	for i, k := range qk {
		if i > 0 {
			b = append(b, ',')
		}
		b = socketio.AppendString(b, k)
		b = append(b, ':')
		if v := h.Query[k]; len(v) == 1 {
			b = socketio.AppendString(b, v[0])
		} else {
			b, _ = socketio.AppendValue(b, v, nil)
		}
	}
	b = append(b, `},"auth":`...)
	if len(h.Auth) == 0 {
		b = append(b, "{}"...)
	} else {
		b = append(b, h.Auth...)
	}
	return append(b, '}')
}

// socketInfoOf reads a socket of a fetchSockets response (Node's or ours).
func socketInfoOf(v any) (server.SocketInfo, bool) {
	m, ok := v.(socketio.Map)
	if !ok {
		return server.SocketInfo{}, false
	}
	id, ok := fieldString(m, "id")
	if !ok {
		return server.SocketInfo{}, false
	}
	info := server.SocketInfo{ID: id, Rooms: roomList(field(m, "rooms")), Data: rawJSON(field(m, "data"))}
	if hs, ok := fieldMap(m, "handshake"); ok {
		h := &info.Handshake
		h.Headers = http.Header{}
		if hm, ok := fieldMap(hs, "headers"); ok {
			for i, k := range hm.Keys {
				h.Headers[http.CanonicalHeaderKey(k)] = stringList(hm.Values[i])
			}
		}
		h.Time, _ = fieldString(hs, "time")
		h.Address, _ = fieldString(hs, "address")
		h.XDomain = field(hs, "xdomain") == true
		h.Secure = field(hs, "secure") == true
		if n, ok := fieldNumber(hs, "issued"); ok {
			h.Issued = int64(n)
		}
		h.URL, _ = fieldString(hs, "url")
		h.Query = url.Values{}
		if qm, ok := fieldMap(hs, "query"); ok {
			for i, k := range qm.Keys {
				h.Query[k] = stringList(qm.Values[i])
			}
		}
		h.Auth = rawJSON(field(hs, "auth"))
	}
	return info, true
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case float64:
		return []string{jsNumber(x)}
	}
	return nil
}

func rawJSON(v any) json.RawMessage {
	b, err := socketio.AppendValue(nil, v, nil)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// jsonMessage encodes a Map as JSON.stringify would.
func jsonMessage(m socketio.Map) []byte {
	b, err := socketio.AppendValue(nil, m, nil)
	if err != nil { // binary where JSON was expected: never built so
		return nil
	}
	return b
}
