package sioclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tradedash/realtime/internal/wsframe"
)

// rawWS is the WebSocket transport of clients read by a Poller (the load
// generator's): the opening handshake is one prepared request and a
// header scan, and frames are written with one write each call, masked as
// RFC 6455 requires of clients (a fresh random key per frame). gorilla's
// dialer, with net/http's request writer and response parser, cost the
// load generator about as much CPU per connect as the server spent.
//
// It is deliberately small: no extensions (no compression), no TLS, no
// proxy. Everything it does not expect in the server's answer fails the
// dial with CodeHandshake.
type rawWS struct {
	conn net.Conn
	wmu  sync.Mutex
	wbuf []byte
	rest []byte // bytes read past the open packet (none from an Engine.IO server)
}

// dialRawWS opens the WebSocket and returns the open packet's payload.
func dialRawWS(ctx context.Context, cfg Config) (*rawWS, []byte, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, nil, &Error{Code: CodeHandshake, Message: "URL", Err: err}
	}
	if u.Scheme != "http" && u.Scheme != "ws" {
		return nil, nil, &Error{Code: CodeHandshake, Message: "raw WebSocket needs an http:// URL, not " + u.Scheme}
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	// No TCP keep-alive (four setsockopt calls per connection): the
	// Engine.IO heartbeat watches the connection.
	d := net.Dialer{KeepAlive: -1}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, nil, &Error{Code: CodeHandshake, Message: "dial", Err: err}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:], rand.Uint64())
	binary.LittleEndian.PutUint64(key[8:], rand.Uint64())
	var keyB64 [24]byte
	base64.StdEncoding.Encode(keyB64[:], key[:])

	req := make([]byte, 0, 256)
	req = append(req, "GET "...)
	req = append(req, strings.TrimSuffix(u.Path, "/")+cfg.Path...)
	req = append(req, "?EIO=4&transport=websocket HTTP/1.1\r\nHost: "...)
	req = append(req, u.Host...)
	req = append(req, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	req = append(req, keyB64[:]...)
	req = append(req, "\r\nSec-WebSocket-Version: 13\r\n\r\n"...)
	fail := func(msg string, err error) (*rawWS, []byte, error) {
		_ = conn.Close()
		return nil, nil, &Error{Code: CodeHandshake, Message: msg, Err: err}
	}
	if _, err := conn.Write(req); err != nil {
		return fail("send the upgrade request", err)
	}

	// The answer's header, then the open packet's frame; usually one read.
	buf := make([]byte, 0, 512)
	end := -1
	for end < 0 {
		if len(buf) == cap(buf) {
			if len(buf) >= 8<<10 {
				return fail("upgrade answer header over 8 KiB", nil)
			}
			buf = slices.Grow(buf, len(buf))
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if end = bytes.Index(buf, []byte("\r\n\r\n")); end < 0 && err != nil {
			return fail("read the upgrade answer", err)
		}
	}
	if err := checkUpgrade(buf[:end+2], keyB64[:]); err != nil {
		return fail("upgrade refused", err)
	}
	buf = buf[end+4:]
	for {
		hdr, n, ok := wsframe.PayloadLength(buf)
		if ok && uint64(len(buf)-hdr) >= n {
			if buf[0] != 0x81 || buf[1]&0x80 != 0 {
				return fail("open packet", errBadFrame)
			}
			t := &rawWS{conn: conn, rest: buf[hdr+int(n):]}
			_ = conn.SetDeadline(time.Time{})
			return t, buf[hdr : hdr+int(n)], nil
		}
		if ok && n > 1<<20 {
			return fail("open packet", errBadFrame)
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf)+512)
		}
		m, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil && m == 0 {
			return fail("open packet", err)
		}
	}
}

// checkUpgrade checks the status line and the headers of a 101 answer
// (without the blank line) against the key sent.
func checkUpgrade(head, key []byte) error {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 101 ")) {
		return errors.New("status " + string(line))
	}
	var want [28]byte
	wsframe.AppendAccept(want[:0], string(key))
	var upgrade, connection, accept bool
	for len(rest) > 0 {
		var field []byte
		field, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(field, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Upgrade")):
			upgrade = bytes.EqualFold(value, []byte("websocket"))
		case bytes.EqualFold(name, []byte("Connection")):
			connection = bytes.Contains(bytes.ToLower(value), []byte("upgrade"))
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Accept")):
			accept = bytes.Equal(value, want[:])
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Extensions")):
			return errors.New("an extension was not asked for: " + string(value))
		}
	}
	switch {
	case !upgrade:
		return errors.New("no Upgrade: websocket")
	case !connection:
		return errors.New("no Connection: upgrade")
	case !accept:
		return errors.New("wrong or missing Sec-WebSocket-Accept")
	}
	return nil
}

// write sends each packet as a masked text frame, all in one write.
func (t *rawWS) write(pkts ...[]byte) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	b := t.wbuf[:0]
	for _, p := range pkts {
		b = wsframe.AppendHeader(b, true, 0x1, len(p), true)
		var mask [4]byte
		binary.LittleEndian.PutUint32(mask[:], rand.Uint32())
		b = append(b, mask[:]...)
		start := len(b)
		b = append(b, p...)
		for i := range p {
			b[start+i] ^= mask[i&3]
		}
	}
	_, err := t.conn.Write(b)
	if cap(b) <= 4<<10 {
		t.wbuf = b
	}
	return err
}

func (t *rawWS) close() error { return t.conn.Close() }

// readLoop reads with a goroutine: used only when the Poller could not
// take the connection.
func (t *rawWS) readLoop(c *Client) error {
	r := &polledReader{c: c, fd: -1}
	buf := make([]byte, 16<<10)
	if err := r.feed(t.rest); err != nil {
		return err
	}
	for {
		n, err := t.conn.Read(buf)
		if n > 0 {
			if err := r.feed(buf[:n]); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
	}
}
