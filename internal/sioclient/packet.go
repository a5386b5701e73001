package sioclient

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/tradedash/realtime/internal/jsonscan"
)

// handle processes one Engine.IO packet read at `at`. It returns an error
// when the connection must end.
func (c *Client) handle(msg []byte, at time.Time) error {
	if len(msg) == 0 {
		return nil
	}
	switch msg[0] {
	case '2': // ping
		return c.tr.write(pongPacket)
	case '1': // close
		return &Error{Code: CodeClosed, Message: "server closed the session"}
	case '4':
		return c.handleSocketIO(msg[1:], at)
	}
	return nil // open, pong, noop, upgrade: nothing to do
}

var pongPacket = []byte("3")

// handleSocketIO processes a Socket.IO packet of the default namespace.
func (c *Client) handleSocketIO(p []byte, at time.Time) error {
	if len(p) == 0 {
		return &Error{Code: CodeProtocol, Message: "empty Socket.IO packet"}
	}
	typ := p[0]
	p = p[1:]
	if len(p) > 0 && p[0] == '/' { // namespace: only "/" is ours
		i := bytes.IndexByte(p, ',')
		if i < 0 {
			return nil
		}
		if string(p[:i]) != "/" {
			return nil
		}
		p = p[i+1:]
	}
	switch typ {
	case '0': // CONNECT answer
		if v, ok := jsonscan.Field(p, "sid"); ok {
			c.psid, _ = jsonscan.Unquote(v)
		}
		select {
		case c.connected <- nil:
		default:
		}
	case '4': // CONNECT_ERROR
		var o struct {
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(p, &o)
		err := &Error{Code: CodeRefused, Message: o.Message, Data: o.Data}
		select {
		case c.connected <- err:
		default:
		}
		return err
	case '1': // DISCONNECT
		return &Error{Code: CodeClosed, Message: "io server disconnect"}
	case '2': // EVENT (an ack the server asks for is not answered)
		_, data := splitID(p)
		if c.onEvent == nil {
			return nil
		}
		name, ok := c.eventName(data)
		if !ok {
			return &Error{Code: CodeProtocol, Message: "bad event " + strconv.Quote(string(data))}
		}
		c.onEvent(Event{Name: name, Data: data, At: at})
	case '3': // ACK
		id, data := splitID(p)
		if id < 0 {
			return &Error{Code: CodeProtocol, Message: "ack without id"}
		}
		c.mu.Lock()
		cb := c.acks[uint64(id)]
		delete(c.acks, uint64(id))
		c.mu.Unlock()
		if cb != nil {
			cb(data, at)
		}
	}
	return nil // binary packets are not supported and are skipped
}

// splitID splits a leading ack id off; -1 when there is none.
func splitID(p []byte) (int64, []byte) {
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	if i == 0 {
		return -1, p
	}
	id, err := strconv.ParseInt(string(p[:i]), 10, 64)
	if err != nil {
		return -1, p[i:]
	}
	return id, p[i:]
}

// eventName is the package's eventName, returning the previous event's
// name string again when the packet names the same event without escapes
// (a load generator's clients receive one event name thousands of times a
// second; this saves allocating it each time). Only the client's reader
// calls it.
func (c *Client) eventName(data []byte) (string, bool) {
	if n := len(c.lastEvent); n > 0 && len(data) > n+2 && data[0] == '[' && data[1] == '"' &&
		data[n+2] == '"' && string(data[2:n+2]) == c.lastEvent {
		return c.lastEvent, true // c.lastEvent holds no '"' or '\\'
	}
	name, ok := eventName(data)
	if ok && !strings.ContainsAny(name, "\"\\") {
		c.lastEvent = name
	}
	return name, ok
}

// eventName reads the first element of the JSON array data, without
// allocating for names that need no unescaping... beyond the string itself.
func eventName(data []byte) (string, bool) {
	if len(data) < 4 || data[0] != '[' || data[1] != '"' {
		return "", false
	}
	for i := 2; i < len(data); i++ {
		switch data[i] {
		case '\\':
			var arr []json.RawMessage
			var name string
			if json.Unmarshal(data, &arr) != nil || len(arr) == 0 || json.Unmarshal(arr[0], &name) != nil {
				return "", false
			}
			return name, true
		case '"':
			return string(data[2:i]), true
		}
	}
	return "", false
}
