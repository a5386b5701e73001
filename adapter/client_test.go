package adapter

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// sioPacket is a Socket.IO packet as a raw test client received it.
type sioPacket struct {
	Text        string // "42[...]" etc.
	Attachments [][]byte
}

// Event returns the event name and JSON array of an event packet.
func (p sioPacket) Event() (string, []json.RawMessage, bool) {
	s := p.Text
	if !strings.HasPrefix(s, "42") && !strings.HasPrefix(s, "45") {
		return "", nil, false
	}
	i := strings.IndexByte(s, '[')
	if i < 0 {
		return "", nil, false
	}
	var arr []json.RawMessage
	if json.Unmarshal([]byte(s[i:]), &arr) != nil || len(arr) == 0 {
		return "", nil, false
	}
	var name string
	_ = json.Unmarshal(arr[0], &name)
	return name, arr[1:], true
}

// rawClient is a minimal Socket.IO client over a WebSocket: it answers
// pings, collects packets, and answers acks with ackReply.
type rawClient struct {
	t       *testing.T
	conn    *websocket.Conn
	SID     string
	packets chan sioPacket
	mu      sync.Mutex
	ackWith string // JSON array answering every ack request, e.g. `["ok"]`
	closed  chan struct{}
}

func dialClient(t *testing.T, ts *httptest.Server, auth string) *rawClient {
	t.Helper()
	u := "ws" + strings.TrimPrefix(ts.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &rawClient{t: t, conn: conn, packets: make(chan sioPacket, 256), closed: make(chan struct{})}
	t.Cleanup(func() { conn.Close(); <-c.closed })
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, open, err := conn.ReadMessage(); err != nil || open[0] != '0' {
		t.Fatalf("open packet: %q %v", open, err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte("40"+auth)); err != nil {
		t.Fatal(err)
	}
	_, msg, err := conn.ReadMessage()
	if err != nil || !bytes.HasPrefix(msg, []byte("40{")) {
		t.Fatalf("connect: %q %v", msg, err)
	}
	var connect struct{ SID string }
	_ = json.Unmarshal(msg[2:], &connect)
	c.SID = connect.SID
	if _, msg, err = conn.ReadMessage(); err != nil || string(msg) != `42["joined"]` {
		t.Fatalf("joined: %q %v", msg, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	go c.read()
	return c
}

func (c *rawClient) setAck(reply string) {
	c.mu.Lock()
	c.ackWith = reply
	c.mu.Unlock()
}

func (c *rawClient) read() {
	defer close(c.closed)
	defer close(c.packets)
	var pending *sioPacket
	want := 0
	for {
		kind, msg, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		if kind == websocket.BinaryMessage {
			if pending != nil {
				pending.Attachments = append(pending.Attachments, msg)
				if len(pending.Attachments) == want {
					c.deliver(*pending)
					pending = nil
				}
			}
			continue
		}
		s := string(msg)
		switch {
		case s == "2":
			_ = c.conn.WriteMessage(websocket.TextMessage, []byte("3"))
		case strings.HasPrefix(s, "45"):
			n, _ := strconv.Atoi(s[2:strings.IndexByte(s, '-')])
			pending, want = &sioPacket{Text: s}, n
		case strings.HasPrefix(s, "4"):
			c.deliver(sioPacket{Text: s})
		}
	}
}

func (c *rawClient) deliver(p sioPacket) {
	// An event with an ack id: 42<id>[...] or 45N-<id>[...].
	s := p.Text
	start := 2
	if strings.HasPrefix(s, "45") {
		start = strings.IndexByte(s, '-') + 1
	}
	if end := strings.IndexByte(s, '['); end > start && (strings.HasPrefix(s, "42") || strings.HasPrefix(s, "45")) {
		c.mu.Lock()
		reply := c.ackWith
		c.mu.Unlock()
		if reply != "" {
			_ = c.conn.WriteMessage(websocket.TextMessage, []byte("43"+s[start:end]+reply))
		}
	}
	select {
	case c.packets <- p:
	default:
		c.t.Errorf("client %s: packet buffer full", c.SID)
	}
}

// next waits for the next packet.
func (c *rawClient) next(timeout time.Duration) (sioPacket, bool) {
	select {
	case p, ok := <-c.packets:
		return p, ok
	case <-time.After(timeout):
		return sioPacket{}, false
	}
}

// waitEvent waits for the event name, skipping others, and returns it.
func (c *rawClient) waitEvent(name string, timeout time.Duration) (sioPacket, bool) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return sioPacket{}, false
		}
		p, ok := c.next(left)
		if !ok {
			return sioPacket{}, false
		}
		if n, _, _ := p.Event(); n == name {
			return p, true
		}
	}
}

// mustEvent is waitEvent that fails the test.
func (c *rawClient) mustEvent(name string) sioPacket {
	c.t.Helper()
	p, ok := c.waitEvent(name, 5*time.Second)
	if !ok {
		c.t.Fatalf("client %s: no %q event", c.SID, name)
	}
	return p
}

// eventsUntil returns the event names received before the sentinel event.
func (c *rawClient) eventsUntil(sentinel string) []string {
	c.t.Helper()
	var names []string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		p, ok := c.next(time.Until(deadline))
		if !ok {
			break
		}
		n, _, _ := p.Event()
		if n == sentinel {
			return names
		}
		names = append(names, n)
	}
	c.t.Fatalf("client %s: no %q sentinel", c.SID, sentinel)
	return nil
}
