package sioclient

import (
	"context"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// smallDialer is the default WebSocket dialer: small buffers, pooled write
// buffer, no compression.
func smallDialer() *websocket.Dialer {
	return &websocket.Dialer{
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
		WriteBufferPool:  &sync.Pool{},
		HandshakeTimeout: 10 * time.Second,
	}
}

// DefaultDialer returns a new small-buffer dialer to share between clients
// (its write buffer pool is then shared too).
func DefaultDialer() *websocket.Dialer { return smallDialer() }

type wsTransport struct {
	conn *websocket.Conn
	wmu  sync.Mutex
	buf  []byte // read buffer, reused
}

// endpoint builds the Engine.IO URL for a transport.
func endpoint(cfg Config, scheme string, query url.Values) (string, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return "", &Error{Code: CodeHandshake, Message: "URL", Err: err}
	}
	switch scheme {
	case "ws":
		if u.Scheme == "https" {
			u.Scheme = "wss"
		} else {
			u.Scheme = "ws"
		}
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + cfg.Path
	u.RawQuery = query.Encode()
	return u.String(), nil
}

func dialWebSocket(ctx context.Context, cfg Config) (*wsTransport, []byte, error) {
	u, err := endpoint(cfg, "ws", url.Values{"EIO": {"4"}, "transport": {"websocket"}})
	if err != nil {
		return nil, nil, err
	}
	d := cfg.Dialer
	if d == nil {
		d = smallDialer()
	}
	conn, resp, err := d.DialContext(ctx, u, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, nil, &Error{Code: CodeHandshake, Message: "dial", Err: err}
	}
	t := &wsTransport{conn: conn}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(dl)
	}
	_, open, err := conn.ReadMessage()
	if err != nil {
		_ = conn.Close()
		return nil, nil, &Error{Code: CodeHandshake, Message: "open packet", Err: err}
	}
	return t, open, nil
}

func (t *wsTransport) write(pkts ...[]byte) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	for _, p := range pkts {
		if err := t.conn.WriteMessage(websocket.TextMessage, p); err != nil {
			return err
		}
	}
	return nil
}

func (t *wsTransport) close() error { return t.conn.Close() }

// readLoop reads messages into a reused buffer until the connection ends.
// The read deadline is pingInterval+pingTimeout from the last ping.
func (t *wsTransport) readLoop(c *Client) error {
	alive := c.pingInterval + c.pingTimeout
	if alive <= 0 {
		alive = 85 * time.Second
	}
	_ = t.conn.SetReadDeadline(time.Now().Add(alive))
	for {
		typ, r, err := t.conn.NextReader()
		if err != nil {
			return err
		}
		t.buf, err = readAll(r, t.buf[:0])
		if err != nil {
			return err
		}
		at := time.Now()
		if typ != websocket.TextMessage {
			continue // binary attachments are not supported
		}
		if len(t.buf) == 1 && t.buf[0] == '2' {
			_ = t.conn.SetReadDeadline(at.Add(alive))
		}
		if err := c.handle(t.buf, at); err != nil {
			return err
		}
	}
}

// readAll reads r to EOF, appending to b.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	if cap(b) == 0 {
		b = make([]byte, 0, 256)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
