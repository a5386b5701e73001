package engineio

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

// waitTimeout bounds every wait of these tests; nothing sleeps and hopes.
const waitTimeout = 5 * time.Second

type inMsg struct {
	data   string
	binary bool
}

type closeInfo struct {
	reason string
	err    error
}

// testSession records what one session's handler received; with echo it
// sends every message back.
type testSession struct {
	s      *Session
	echo   bool
	msgs   chan inMsg
	closed chan closeInfo
}

func (h *testSession) OnMessage(data []byte, binary bool) {
	h.msgs <- inMsg{string(data), binary}
	if h.echo {
		_ = h.s.Send(NewMessage([]byte(string(data)), binary))
	}
}

func (h *testSession) OnClose(reason string, err error) { h.closed <- closeInfo{reason, err} }

func (h *testSession) waitMessage(t *testing.T) inMsg {
	t.Helper()
	select {
	case m := <-h.msgs:
		return m
	case <-time.After(waitTimeout):
		t.Fatal("no message reached the handler")
	}
	return inMsg{}
}

func (h *testSession) waitClose(t *testing.T) closeInfo {
	t.Helper()
	select {
	case c := <-h.closed:
		return c
	case <-time.After(waitTimeout):
		t.Fatal("the session did not close")
	}
	return closeInfo{}
}

// testEngine is an Engine.IO server on a real loopback HTTP server.
type testEngine struct {
	srv      *Server
	ts       *httptest.Server
	url      string // http://127.0.0.1:port/engine.io/
	sessions chan *testSession
	client   *http.Client
}

func startEngine(t *testing.T, cfg Config, echo bool) *testEngine {
	t.Helper()
	return startEngineWith(t, cfg, echo, false)
}

// startFastEngine is startEngine behind Listener (new WebSocket sessions
// handshaken without net/http).
func startFastEngine(t *testing.T, cfg Config, echo bool) *testEngine {
	t.Helper()
	return startEngineWith(t, cfg, echo, true)
}

func startEngineWith(t *testing.T, cfg Config, echo, fast bool) *testEngine {
	t.Helper()
	e := &testEngine{sessions: make(chan *testSession, 64)}
	cfg.OnConnection = func(s *Session) {
		h := &testSession{s: s, echo: echo, msgs: make(chan inMsg, 1024), closed: make(chan closeInfo, 1)}
		s.SetHandler(h)
		e.sessions <- h
	}
	e.srv = NewServer(cfg)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", e.srv)
	e.ts = httptest.NewUnstartedServer(mux)
	if fast {
		e.ts.Listener = e.srv.Listener(e.ts.Listener, "/engine.io/", waitTimeout)
	}
	e.ts.Start()
	e.url = e.ts.URL + "/engine.io/"
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	e.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(func() {
		e.srv.Close()
		tr.CloseIdleConnections()
		e.ts.Close()
	})
	return e
}

func (e *testEngine) nextSession(t *testing.T) *testSession {
	t.Helper()
	select {
	case s := <-e.sessions:
		return s
	case <-time.After(waitTimeout):
		t.Fatal("no session was created")
	}
	return nil
}

type response struct {
	status int
	header http.Header
	body   string
}

func (e *testEngine) do(t *testing.T, ctx context.Context, method, query, body string, header map[string]string) (response, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.url+query, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := e.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(b)}, err
}

func (e *testEngine) request(t *testing.T, method, query, body string) response {
	t.Helper()
	r, err := e.do(t, context.Background(), method, query, body, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, query, err)
	}
	return r
}

func (e *testEngine) poll(t *testing.T, sid string) response {
	t.Helper()
	return e.request(t, http.MethodGet, "?EIO=4&transport=polling&sid="+sid, "")
}

func (e *testEngine) push(t *testing.T, sid, body string) response {
	t.Helper()
	return e.request(t, http.MethodPost, "?EIO=4&transport=polling&sid="+sid, body)
}

// startPoll sends a GET in the background and waits until the server holds
// it as the session's pending poll.
func (e *testEngine) startPoll(t *testing.T, ss *Session) (<-chan response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan response, 1)
	go func() {
		r, err := e.do(t, ctx, http.MethodGet, "?EIO=4&transport=polling&sid="+ss.ID(), "", nil)
		if err != nil {
			r.status = -1
			r.body = err.Error()
		}
		ch <- r
	}()
	waitFor(t, "the poll to be pending", func() bool {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		return ss.poll != nil
	})
	return ch, cancel
}

func waitResponse(t *testing.T, ch <-chan response) response {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitTimeout):
		t.Fatal("the poll was not answered")
	}
	return response{}
}

// waitFor polls cond until it holds or the deadline passes. It watches
// server state that has no wire signal (a poll being pending).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// handshake opens a polling session and returns its sid and test handler.
func (e *testEngine) handshake(t *testing.T) (string, *testSession) {
	t.Helper()
	r := e.request(t, http.MethodGet, "?EIO=4&transport=polling", "")
	if r.status != 200 || !strings.HasPrefix(r.body, "0{") {
		t.Fatalf("handshake: %d %q", r.status, r.body)
	}
	var hs struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal([]byte(r.body[1:]), &hs); err != nil {
		t.Fatal(err)
	}
	h := e.nextSession(t)
	if h.s.ID() != hs.SID {
		t.Fatalf("session %s, handshake said %s", h.s.ID(), hs.SID)
	}
	return hs.SID, h
}

func (e *testEngine) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(e.url, "http") + query
}

// dial opens a WebSocket; the response is returned on a refused handshake.
func (e *testEngine) dial(t *testing.T, query string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	return d.Dial(e.wsURL(query), header)
}

func (e *testEngine) mustDial(t *testing.T, query string) *websocket.Conn {
	t.Helper()
	c, _, err := e.dial(t, query, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", query, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readText(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	mt, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if mt != websocket.TextMessage {
		t.Fatalf("got a binary frame %q, want text", b)
	}
	return string(b)
}

func writeText(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
}

// readUntilClose reads until the connection ends and returns the frames
// read before and the error that ended it.
func readUntilClose(t *testing.T, c *websocket.Conn) ([]string, error) {
	t.Helper()
	var frames []string
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatalf("connection still open after %v (frames %q)", waitTimeout, frames)
			}
			return frames, err
		}
		frames = append(frames, string(b))
	}
}
