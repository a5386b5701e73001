package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// waitTimeout bounds every wait; the tests never sleep and hope.
const waitTimeout = 5 * time.Second

// testServer is a Server on a real loopback HTTP server.
type testServer struct {
	srv *Server
	ts  *httptest.Server
}

func startServer(t testing.TB, cfg Config, setup func(*Server)) *testServer {
	t.Helper()
	srv := New(cfg)
	if setup != nil {
		setup(srv)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // no grace
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return &testServer{srv: srv, ts: ts}
}

func (s *testServer) wsURL() string {
	return "ws" + strings.TrimPrefix(s.ts.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
}

// frame is one WebSocket message from the server.
type frame struct {
	data   string
	binary bool
}

// rawClient speaks Engine.IO 4 / Socket.IO 5 over a WebSocket by hand: it
// answers pings, and hands every other message to the test.
type rawClient struct {
	t    testing.TB
	conn *websocket.Conn
	in   chan frame
	done chan struct{} // closed when the connection ended
	err  error         // what ended it, valid after done
	sid  string        // Engine.IO session id
}

var dialer = websocket.Dialer{HandshakeTimeout: waitTimeout}

// dialRaw opens a WebSocket session and reads the open packet.
func dialRaw(t testing.TB, s *testServer) *rawClient {
	t.Helper()
	conn, _, err := dialer.Dial(s.wsURL(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &rawClient{t: t, conn: conn, in: make(chan frame, 4096), done: make(chan struct{})}
	t.Cleanup(func() { c.conn.Close() })
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	_, open, err := conn.ReadMessage()
	if err != nil || len(open) == 0 || open[0] != '0' {
		t.Fatalf("open packet %q: %v", open, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	var hs struct {
		SID string `json:"sid"`
	}
	_ = json.Unmarshal(open[1:], &hs)
	c.sid = hs.SID
	go c.readLoop()
	return c
}

func (c *rawClient) readLoop() {
	defer close(c.done)
	for {
		mt, b, err := c.conn.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		if mt == websocket.TextMessage && string(b) == "2" {
			_ = c.conn.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		c.in <- frame{string(b), mt == websocket.BinaryMessage}
	}
}

// send writes one Engine.IO message: "4" + a Socket.IO packet.
func (c *rawClient) send(packet string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte("4"+packet)); err != nil {
		c.t.Fatalf("send %q: %v", packet, err)
	}
}

func (c *rawClient) sendBinary(b []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.t.Fatalf("send binary: %v", err)
	}
}

// next returns the next message (pings excluded).
func (c *rawClient) next() frame {
	c.t.Helper()
	select {
	case f := <-c.in:
		return f
	case <-c.done:
		select {
		case f := <-c.in:
			return f
		default:
		}
		c.t.Fatalf("connection ended (%v) while a message was expected", c.err)
	case <-time.After(waitTimeout):
		c.t.Fatal("no message from the server")
	}
	return frame{}
}

// expect reads the next text message and checks it equals want.
func (c *rawClient) expect(want string) {
	c.t.Helper()
	if f := c.next(); f.binary || f.data != want {
		c.t.Fatalf("got %q (binary %v), want %q", f.data, f.binary, want)
	}
}

// expectPrefix reads the next text message, checks its prefix and returns
// the rest.
func (c *rawClient) expectPrefix(prefix string) string {
	c.t.Helper()
	f := c.next()
	if f.binary || !strings.HasPrefix(f.data, prefix) {
		c.t.Fatalf("got %q, want prefix %q", f.data, prefix)
	}
	return f.data[len(prefix):]
}

// connect joins a namespace ("/" or "/name") with an optional auth JSON
// and returns the socket id.
func (c *rawClient) connect(nsp, auth string) string {
	c.t.Helper()
	head := "0"
	if nsp != "/" {
		head += nsp + ","
	}
	c.send(head + auth)
	rest := c.expectPrefix("4" + head)
	var v struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal([]byte(rest), &v); err != nil || v.SID == "" {
		c.t.Fatalf("CONNECT answer %q", rest)
	}
	return v.SID
}

// emit sends an event on "/": 42[event,args...].
func (c *rawClient) emit(event string, args ...string) {
	c.t.Helper()
	c.send("2" + eventJSON(event, args...))
}

func eventJSON(event string, args ...string) string {
	b, _ := json.Marshal(event)
	parts := append([]string{string(b)}, args...)
	return "[" + strings.Join(parts, ",") + "]"
}

// waitClosed waits until the server ends the connection.
func (c *rawClient) waitClosed() error {
	c.t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(waitTimeout):
		c.t.Fatal("connection still open")
	}
	return nil
}

// pollingClient is the same over HTTP long-polling.
type pollingClient struct {
	t      testing.TB
	base   string
	client *http.Client
	sid    string
}

func dialPolling(t testing.TB, s *testServer) *pollingClient {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := &pollingClient{t: t, base: s.ts.URL + "/socket.io/?EIO=4&transport=polling", client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	status, body := c.do(http.MethodGet, c.base, "")
	if status != 200 || !strings.HasPrefix(body, "0{") {
		t.Fatalf("handshake %d %q", status, body)
	}
	var hs struct {
		SID string `json:"sid"`
	}
	_ = json.Unmarshal([]byte(body[1:]), &hs)
	c.sid = hs.SID
	return c
}

func (c *pollingClient) do(method, url, body string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	res, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// push POSTs Socket.IO packets, each as a "4" message, in one payload.
func (c *pollingClient) push(packets ...string) {
	c.t.Helper()
	for i := range packets {
		packets[i] = "4" + packets[i]
	}
	if status, body := c.do(http.MethodPost, c.base+"&sid="+c.sid, strings.Join(packets, "\x1e")); status != 200 || body != "ok" {
		c.t.Fatalf("POST %d %q", status, body)
	}
}

// poll GETs once and returns the Engine.IO packets of the payload.
func (c *pollingClient) poll() (int, []string) {
	c.t.Helper()
	status, body := c.do(http.MethodGet, c.base+"&sid="+c.sid, "")
	if status != 200 {
		return status, []string{body}
	}
	return status, strings.Split(body, "\x1e")
}

// pollUntil polls (answering pings) until a packet with prefix arrives and
// returns the packets read, up to and including it.
func (c *pollingClient) pollUntil(prefix string) []string {
	c.t.Helper()
	var got []string
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		status, pkts := c.poll()
		if status != 200 {
			c.t.Fatalf("poll %d %q", status, pkts)
		}
		for _, p := range pkts {
			if p == "2" {
				c.push2("3")
				continue
			}
			got = append(got, p)
			if strings.HasPrefix(p, prefix) {
				return got
			}
		}
	}
	c.t.Fatalf("no %q within %v (got %q)", prefix, waitTimeout, got)
	return nil
}

// push2 POSTs a raw Engine.IO payload.
func (c *pollingClient) push2(payload string) {
	c.t.Helper()
	c.do(http.MethodPost, c.base+"&sid="+c.sid, payload)
}
