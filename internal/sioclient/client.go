// Package sioclient is a small Engine.IO 4 / Socket.IO 5 client for load
// generation and tests: WebSocket or HTTP long-polling, default namespace
// only, text packets only. It is cheap per connection: one reader goroutine,
// no goroutine per message, a reused read buffer, writes done by the caller.
package sioclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tradedash/realtime/internal/jsonscan"
	"github.com/tradedash/realtime/internal/netpoll"
)

// Transport is how a client talks to the server.
type Transport string

const (
	WebSocket Transport = "websocket" // a WebSocket from the start (no upgrade)
	Polling   Transport = "polling"   // HTTP long-polling only
)

// Event is a Socket.IO event the server sent.
type Event struct {
	Name string
	// Data is the packet's JSON array, event name first. It is only valid
	// during the OnEvent call: copy it to keep it.
	Data []byte
	// At is when the message carrying the event was read.
	At time.Time
}

// AckFunc receives an acknowledgement: data is the JSON array of the ack's
// arguments, valid only during the call; at is when it was read.
type AckFunc func(data []byte, at time.Time)

// Config configures Dial.
type Config struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:3000". Required.
	URL string
	// Path is the Engine.IO path. Zero means "/socket.io/".
	Path string
	// Transport: zero means WebSocket.
	Transport Transport
	// Auth is the CONNECT payload (JSON-encoded), e.g.
	// map[string]any{"sessionID": s, "userId": u}. Nil sends none; a
	// json.RawMessage is sent as it is (it must be a valid JSON object).
	Auth any
	// OnEvent receives every event, on the client's reader goroutine (it
	// must not block long). Nil drops events.
	OnEvent func(Event)
	// Dialer dials WebSockets. Nil means a dialer with small buffers (1 KiB
	// read, pooled 1 KiB write) and no compression.
	Dialer *websocket.Dialer
	// HTTPClient carries polling requests; share one between clients. Nil
	// means a new client with its own connection pool.
	HTTPClient *http.Client
	// Timeout bounds Dial (handshake and CONNECT). Zero means 10 s.
	Timeout time.Duration
	// Poller, when set, reads a WebSocket client's input when it says
	// there is some, on its goroutine (OnEvent and ack callbacks run
	// there): no goroutine per client. Polling clients ignore it; without
	// epoll (netpoll.ErrUnsupported) the client reads with a goroutine.
	// A WebSocket client with a Poller also uses the raw transport
	// (rawws.go: a bare socket, own handshake and frame writer, http://
	// URLs only, no compression) instead of gorilla's, and ignores Dialer.
	Poller *netpoll.Poller
	// RawPolling sends a polling client's GETs on a connection of its own
	// with a minimal HTTP/1.1 reader instead of HTTPClient (rawget.go: for
	// a load generator; http:// only, Content-Length bodies only). POSTs
	// still go through HTTPClient.
	RawPolling bool
}

// Client is one Socket.IO connection to the default namespace.
type Client struct {
	// What each event read reads, first: a load generator holds thousands
	// of clients and each of their events is a cache miss of its own.
	onEvent   func(Event)   // cfg.OnEvent
	lastEvent string        // the name of the last event read (see eventName)
	polled    *polledReader // set when a Poller reads the input

	cfg  Config
	tr   transport
	sid  string // Engine.IO session id
	psid string // Socket.IO socket id

	pingInterval, pingTimeout time.Duration

	mu     sync.Mutex
	nextID uint64
	acks   map[uint64]AckFunc

	connected chan error // the CONNECT answer, once
	done      chan struct{}
	closeOnce sync.Once
	err       error // why done closed; read after <-done
}

// newClient returns a client of cfg, not connected yet.
func newClient(cfg Config) *Client {
	return &Client{cfg: cfg, onEvent: cfg.OnEvent, connected: make(chan error, 1), done: make(chan struct{})}
}

// transport is the wire: it writes Engine.IO packets and runs the read loop.
type transport interface {
	write(pkts ...[]byte) error
	readLoop(c *Client) error // returns when the connection ends
	close() error
}

// Dial opens a connection, sends CONNECT with cfg.Auth and waits for the
// server's answer. A refusal is an *Error with CodeRefused.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Path == "" {
		cfg.Path = "/socket.io/"
	}
	if cfg.Transport == "" {
		cfg.Transport = WebSocket
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	c := newClient(cfg)
	var (
		open []byte
		err  error
	)
	switch cfg.Transport {
	case WebSocket:
		if cfg.Poller != nil {
			open, err = c.dialRaw(ctx) // sets c.tr (and c.polled)
		} else {
			c.tr, open, err = dialWebSocket(ctx, cfg)
		}
	case Polling:
		c.tr, open, err = dialPolling(ctx, cfg)
	default:
		return nil, &Error{Code: CodeHandshake, Message: "unknown transport " + string(cfg.Transport)}
	}
	if err != nil {
		return nil, err
	}
	if err := c.parseOpen(open); err != nil {
		_ = c.tr.close()
		return nil, err
	}
	if p, ok := c.tr.(*pollingTransport); ok {
		p.sid = c.sid
	}
	connect := []byte("40")
	switch a := cfg.Auth.(type) {
	case nil:
	case json.RawMessage: // encoded by the caller (a load generator, once per session)
		connect = append(connect, a...)
	default:
		b, err := json.Marshal(a)
		if err != nil {
			_ = c.tr.close()
			return nil, &Error{Code: CodeHandshake, Message: "auth", Err: err}
		}
		connect = append(connect, b...)
	}
	if err := c.tr.write(connect); err != nil {
		_ = c.tr.close()
		return nil, &Error{Code: CodeHandshake, Message: "send CONNECT", Err: err}
	}
	if c.polled == nil { // else cfg.Poller reads
		go c.run()
	}
	select {
	case err := <-c.connected:
		if err != nil {
			c.shutdown(err)
			return nil, err
		}
		return c, nil
	case <-c.done:
		return nil, c.err
	case <-ctx.Done():
		c.shutdown(&Error{Code: CodeTimeout, Message: "no CONNECT answer", Err: ctx.Err()})
		return nil, &Error{Code: CodeTimeout, Message: "no CONNECT answer", Err: ctx.Err()}
	}
}

func (c *Client) parseOpen(open []byte) error {
	if len(open) < 2 || open[0] != '0' {
		return &Error{Code: CodeHandshake, Message: "bad open packet " + strconv.Quote(string(open))}
	}
	// Read in place (every client of a load generator parses one): the
	// fields' values are checked as encoding/json would decode them into
	// a string and two ints.
	var sid string
	var interval, timeout int64
	ok := jsonscan.Object(open[1:], func(k, v []byte) {
		switch {
		case jsonscan.KeyIs(k, "sid"):
			sid, _ = jsonscan.Unquote(v) // "" when not a string
		case jsonscan.KeyIs(k, "pingInterval"):
			interval = jsonInt(v)
		case jsonscan.KeyIs(k, "pingTimeout"):
			timeout = jsonInt(v)
		}
	})
	if !ok || sid == "" || interval < 0 || timeout < 0 {
		return &Error{Code: CodeHandshake, Message: "bad open packet " + strconv.Quote(string(open))}
	}
	c.sid = sid
	c.pingInterval = time.Duration(interval) * time.Millisecond
	c.pingTimeout = time.Duration(timeout) * time.Millisecond
	return nil
}

func (c *Client) run() {
	err := c.tr.readLoop(c)
	var e *Error
	if !errors.As(err, &e) {
		err = &Error{Code: CodeClosed, Err: err} // the transport ended
	}
	c.shutdown(err)
}

// shutdown ends the client once with err.
func (c *Client) shutdown(err error) {
	c.closeOnce.Do(func() {
		c.err = err
		if r := c.polled; r != nil {
			r.p.Remove(r.fd, r)
		}
		_ = c.tr.close()
		close(c.done)
		select {
		case c.connected <- err:
		default:
		}
	})
}

// SID returns the Socket.IO socket id the server gave.
func (c *Client) SID() string { return c.psid }

// EngineSID returns the Engine.IO session id.
func (c *Client) EngineSID() string { return c.sid }

// Done is closed when the connection has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended (nil while it is open).
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close sends a Socket.IO DISCONNECT (best effort) and closes the transport.
func (c *Client) Close() error {
	select {
	case <-c.done:
		return nil
	default:
	}
	if c.cfg.Transport == Polling {
		_ = c.tr.write([]byte("41"), []byte("1")) // DISCONNECT, then Engine.IO close
	} else {
		_ = c.tr.write([]byte("41"))
	}
	c.shutdown(&Error{Code: CodeClosed, Message: "closed by client"})
	return nil
}

// Emit sends an event without an ack.
func (c *Client) Emit(event string, args ...any) error {
	b, err := encodeEvent(event, -1, args)
	if err != nil {
		return err
	}
	return c.send(b)
}

// EmitAck sends an event asking for an ack; cb runs on the reader
// goroutine when it comes (never, if the connection ends first).
func (c *Client) EmitAck(cb AckFunc, event string, args ...any) error {
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	if c.acks == nil {
		c.acks = make(map[uint64]AckFunc)
	}
	c.acks[id] = cb
	c.mu.Unlock()
	b, err := encodeEvent(event, int64(id), args)
	if err == nil {
		err = c.send(b)
	}
	if err != nil {
		c.mu.Lock()
		delete(c.acks, id)
		c.mu.Unlock()
	}
	return err
}

// EmitWithAck sends an event and waits for its ack (a copy of the ack's JSON
// array), ctx's end (CodeTimeout) or the connection's (CodeClosed).
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]byte, error) {
	ch := make(chan []byte, 1)
	if err := c.EmitAck(func(data []byte, _ time.Time) { ch <- bytes.Clone(data) }, event, args...); err != nil {
		return nil, err
	}
	select {
	case d := <-ch:
		return d, nil
	case <-c.done:
		return nil, c.err
	case <-ctx.Done():
		return nil, &Error{Code: CodeTimeout, Message: "no ack for " + event, Err: ctx.Err()}
	}
}

func (c *Client) send(b []byte) error {
	select {
	case <-c.done:
		return c.err
	default:
	}
	if err := c.tr.write(b); err != nil {
		return &Error{Code: CodeClosed, Err: err}
	}
	return nil
}

// encodeEvent builds "42[id][name,args...]" (an Engine.IO message holding a
// Socket.IO EVENT); id < 0 means no ack.
func encodeEvent(event string, id int64, args []any) ([]byte, error) {
	b := make([]byte, 0, 32+len(event))
	b = append(b, '4', '2')
	if id >= 0 {
		b = strconv.AppendInt(b, id, 10)
	}
	b = append(b, '[')
	b = appendJSONString(b, event)
	for _, a := range args {
		b = append(b, ',')
		if r, ok := a.(json.RawMessage); ok { // encoded by the caller
			b = append(b, r...)
			continue
		}
		j, err := json.Marshal(a)
		if err != nil {
			return nil, &Error{Code: CodeProtocol, Message: "encode " + event, Err: err}
		}
		b = append(b, j...)
	}
	return append(b, ']'), nil
}

// appendJSONString appends s as a JSON string; plain ASCII is copied as is.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// jsonInt returns the JSON integer v (-1 when v is not a non-negative
// integer that fits an int64).
func jsonInt(v []byte) int64 {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}
