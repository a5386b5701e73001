package engineio

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// twinEngines serves the same engine configuration twice: behind net/http
// alone, and behind Listener. Every session's handler is recorded.
type twinEngine struct {
	addr     string
	sessions chan *Session
	viaHTTP  atomic.Int32 // requests that reached the engine through net/http
}

func startTwin(t *testing.T, fast bool) *twinEngine {
	t.Helper()
	e := &twinEngine{sessions: make(chan *Session, 16)}
	cfg := Config{
		PingInterval: time.Minute,
		CORS:         CORS{Origins: []string{"http://ok.example"}},
		OnConnection: func(s *Session) {
			s.SetHandler(&testSession{s: s, msgs: make(chan inMsg, 16), closed: make(chan closeInfo, 1)})
			e.sessions <- s
		},
	}
	srv := NewServer(cfg)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.viaHTTP.Add(1)
		srv.ServeHTTP(w, r)
	}))
	ts := httptest.NewUnstartedServer(mux)
	if fast {
		ts.Listener = srv.Listener(ts.Listener, "/engine.io/", 5*time.Second)
	}
	ts.Start()
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	e.addr = strings.TrimPrefix(ts.URL, "http://")
	return e
}

// exchange sends the request in parts (one write each, a moment apart) and
// returns what the server answers until it closes, or, for a WebSocket,
// the 101 and the frames of its first read.
func exchange(t *testing.T, addr string, parts ...string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, p := range parts {
		if i > 0 {
			// Lets the previous part arrive alone (the server must wait
			// for the rest of the head); not a wait for an outcome.
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := io.WriteString(c, p); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	var out []byte
	buf := make([]byte, 8192)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
		if bytes.HasPrefix(out, []byte("HTTP/1.1 101 ")) {
			if _, rest, ok := bytes.Cut(out, []byte("\r\n\r\n")); ok && len(rest) > 0 {
				break // the open packet (or the close) came with it
			}
		}
		if bytes.Contains(out, []byte("\r\n\r\n")) && !bytes.HasPrefix(out, []byte("HTTP/1.1 101 ")) {
			// A plain answer: read its body by Content-Length.
			if m := regexp.MustCompile(`(?i)\r\nContent-Length: (\d+)\r\n`).FindSubmatch(out); m != nil {
				var cl int
				fmt.Sscan(string(m[1]), &cl)
				_, body, _ := bytes.Cut(out, []byte("\r\n\r\n"))
				if len(body) >= cl {
					break
				}
			}
		}
	}
	return string(out)
}

var (
	dateLine = regexp.MustCompile(`\r\nDate: [^\r]*`)
	sidValue = regexp.MustCompile(`"sid":"[A-Za-z0-9_-]{20}"`)
)

func normalize(s string) string {
	return sidValue.ReplaceAllString(dateLine.ReplaceAllString(s, "\r\nDate: -"), `"sid":"-"`)
}

func upgradeHead(query string, extra ...string) string {
	return "GET /engine.io/?" + query + " HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + strings.Join(extra, "") + "\r\n"
}

// TestListenerAnswersAsNetHTTP: through Listener, every request gets the
// bytes it gets from net/http alone: the new WebSocket sessions served
// without net/http, and the rest handed on to it.
func TestListenerAnswersAsNetHTTP(t *testing.T) {
	plain, fast := startTwin(t, false), startTwin(t, true)
	ws := "EIO=4&transport=websocket"
	cases := []struct {
		name  string
		parts []string
		empty bool // the connection is closed without an answer
		path  int  // 1: served without net/http; 0: through it; -1: never reaches the engine
	}{
		{"websocket", []string{upgradeHead(ws)}, false, 1},
		{"websocket, lower-case names, keep-alive", []string{"GET /engine.io/?" + ws + " HTTP/1.1\r\nhost: example.test\r\nupgrade: WebSocket\r\n" +
			"connection: keep-alive, Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"}, false, 1},
		{"websocket, allowed origin", []string{upgradeHead(ws, "Origin: http://ok.example\r\n")}, false, 1},
		{"websocket, deflate offered", []string{upgradeHead(ws, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")}, false, 1},
		{"websocket, head in three parts", []string{"GET /engine.io/?" + ws + " HT", "TP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"}, false, 1},
		{"websocket, refused origin", []string{upgradeHead(ws, "Origin: http://evil.example\r\n")}, false, 0},
		{"websocket, EIO=3", []string{upgradeHead("EIO=3&transport=websocket")}, false, 0},
		{"websocket, unknown sid", []string{upgradeHead(ws + "&sid=AAAAAAAAAAAAAAAAAAAA")}, false, 0},
		{"websocket, bad transport", []string{upgradeHead("EIO=4&transport=carrier-pigeon")}, false, 0},
		{"websocket, version 12", []string{strings.Replace(upgradeHead(ws), "Version: 13", "Version: 12", 1)}, false, 0},
		{"websocket, short key", []string{strings.Replace(upgradeHead(ws), "dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=", 1)}, false, 0},
		{"websocket, no key", []string{strings.Replace(upgradeHead(ws), "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1)}, false, 0},
		{"websocket, no Host", []string{strings.Replace(upgradeHead(ws), "Host: example.test\r\n", "", 1)}, false, -1},
		{"websocket, two Hosts", []string{upgradeHead(ws, "Host: other.test\r\n")}, false, -1},
		{"websocket, folded header", []string{upgradeHead(ws, "X-Folded: a\r\n b\r\n")}, false, 0},
		{"websocket, HTTP/1.0", []string{strings.Replace(upgradeHead(ws), "HTTP/1.1", "HTTP/1.0", 1)}, false, 0},
		{"websocket, other path", []string{strings.Replace(upgradeHead(ws), "/engine.io/?", "/engine.io/x?", 1)}, false, 0},
		{"websocket, data after the head", []string{upgradeHead(ws) + "\x81\x85garbage"}, true, 0},
		{"websocket, head over 4 KiB", []string{upgradeHead(ws, "X-Big: "+strings.Repeat("b", 5000)+"\r\n")}, false, 0},
		{"polling handshake", []string{"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n"}, false, 0},
		{"POST without sid", []string{"POST /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: example.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\n40"}, false, 0},
		{"not found", []string{"GET /nothing HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n"}, false, -1},
		{"garbage", []string{"HELLO\r\n\r\n"}, false, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := normalize(exchange(t, plain.addr, tc.parts...))
			before := fast.viaHTTP.Load()
			got := normalize(exchange(t, fast.addr, tc.parts...))
			switch reached := fast.viaHTTP.Load() > before; {
			case tc.path == 1 && reached:
				t.Error("went through net/http, want the fast path")
			case tc.path == 0 && !reached:
				t.Error("did not reach the engine through net/http")
			}
			if got != want {
				t.Fatalf("through Listener:\n%q\nnet/http alone:\n%q", got, want)
			}
			if (want == "") != tc.empty {
				t.Fatalf("answer %q, want it empty: %v", want, tc.empty)
			}
			for _, e := range []*twinEngine{plain, fast} {
				select {
				case s := <-e.sessions:
					if !strings.Contains(want, "HTTP/1.1 101 ") && !strings.Contains(want, `"sid"`) {
						t.Fatalf("a session %s was opened for a refused request", s.ID())
					}
				default:
				}
			}
		})
	}
}

// TestListenerSessionSeesTheRequest: a session handshaken by Listener has
// the header, query and remote address net/http would have given it.
func TestListenerSessionSeesTheRequest(t *testing.T) {
	plain, fast := startTwin(t, false), startTwin(t, true)
	head := upgradeHead("EIO=4&transport=websocket&token=a%20b&x=1&x=2",
		"cookie: connect.sid=s%3Aabc.def\r\nX-Forwarded-For:  10.0.0.1 \r\nPragma: no-cache\r\nuser-agent: test\r\n")
	var got [2]*Session
	for i, e := range []*twinEngine{plain, fast} {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		select {
		case got[i] = <-e.sessions:
		case <-time.After(waitTimeout):
			t.Fatal("no session")
		}
		if !strings.HasPrefix(got[i].RemoteAddr(), "127.0.0.1:") || got[i].RemoteAddr() != c.LocalAddr().String() {
			t.Fatalf("remote address %q, want %q", got[i].RemoteAddr(), c.LocalAddr())
		}
	}
	sorted := func(h http.Header) map[string][]string {
		m := maps.Clone(map[string][]string(h))
		for _, v := range m {
			slices.Sort(v)
		}
		return m
	}
	want, have := sorted(got[0].Header()), sorted(got[1].Header())
	if fmt.Sprint(want) != fmt.Sprint(have) {
		t.Fatalf("header through Listener %v, net/http alone %v", have, want)
	}
	if have["Cache-Control"] == nil || have["Cookie"][0] != "connect.sid=s%3Aabc.def" || have["X-Forwarded-For"][0] != "10.0.0.1" {
		t.Fatalf("header %v", have)
	}
	if q := got[1].Query(); q.Get("token") != "a b" || len(q["x"]) != 2 || got[1].Query().Encode() != got[0].Query().Encode() {
		t.Fatalf("query %v, want %v", q, got[0].Query())
	}
}

// TestListenerClose: closing the listener ends Accept (net/http's Serve
// returns) and a connection that was still sending its head is closed.
func TestListenerClose(t *testing.T) {
	srv := NewServer(Config{OnConnection: func(s *Session) {}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := srv.Listener(ln, "/engine.io/", 5*time.Second)
	hs := &http.Server{Handler: srv}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(fl) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /engine.io/?EIO=4") // half a head
	_ = fl.Close()
	select {
	case err := <-served:
		if err == nil {
			t.Fatal("Serve returned nil")
		}
	case <-time.After(waitTimeout):
		t.Fatal("Serve did not return after the listener closed")
	}
	// The half-sent request is handed on to no one: the connection ends
	// (after the head times out or is completed).
	_, _ = io.WriteString(c, "&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read %d bytes after close, want the connection closed", n)
	}
}

// FuzzUpgradeAnswerMatchesGorilla: the fast path accepts the Connection
// and Upgrade values gorilla's upgrader accepts, negotiates
// permessage-deflate as it does, and writes the same 101 answer.
func FuzzUpgradeAnswerMatchesGorilla(f *testing.F) {
	for _, s := range [][3]string{
		{"Upgrade", "websocket", ""},
		{"keep-alive, Upgrade", "WebSocket", "permessage-deflate; client_max_window_bits"},
		{"upgrade", "websocket", "x-webkit-deflate-frame, permessage-deflate"},
		{"foo/bar, upgrade", "websocket", `permessage-deflate; a="b\"c", x`},
		{"Upgrade,", "websocket, h2c", "foo; =1, permessage-deflate"},
		{"Upgrade", "websocket/13", `a; b="unterminated, permessage-deflate`},
		{" Upgrade ", " websocket ", "permessage-deflate;"},
		{"Upgrade", "websocket", "permessage-deflate ; server_no_context_takeover ;client_no_context_takeover"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	srv := NewServer(Config{OnConnection: func(*Session) {}})
	f.Fuzz(func(t *testing.T, connection, upgrade, extensions string) {
		req := &http.Request{Method: http.MethodGet, Header: http.Header{
			"Connection": {connection}, "Upgrade": {upgrade},
			"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {lazyKey},
		}}
		if extensions != "" {
			req.Header["Sec-Websocket-Extensions"] = []string{extensions}
		}
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		hc := &heldConn{Conn: a, holding: true}
		_, err := srv.upgrader.Upgrade(&gorillaWriter{hc: hc}, req, nil)
		accepted := tokenListHas(upgrade, "websocket") && tokenListHas(connection, "upgrade")
		if (err == nil) != accepted {
			t.Fatalf("Connection %q, Upgrade %q: gorilla err %v, fast path accepts %v", connection, upgrade, err, accepted)
		}
		if !accepted {
			return
		}
		if got := upgradeAnswer(lazyKey, deflateOffered(extensions)); string(got) != string(hc.held) {
			t.Fatalf("extensions %q: fast path answers\n%q\ngorilla\n%q", extensions, got, hc.held)
		}
	})
}

// deflateSession opens a WebSocket session through Listener, offering
// permessage-deflate, and returns the connection, what its first read got
// and the server's session.
func deflateSession(t *testing.T) (net.Conn, []byte, *Session) {
	t.Helper()
	fast := startTwin(t, true)
	c, err := net.Dial("tcp", fast.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, upgradeHead("EIO=4&transport=websocket", "Sec-WebSocket-Extensions: permessage-deflate\r\n"))
	first := rawRead(t, c)
	select {
	case ss := <-fast.sessions:
		return c, first, ss
	case <-time.After(waitTimeout):
		t.Fatal("no session")
	}
	return nil, nil, nil
}

// TestLazyGorillaDeflates: a session handshaken by Listener that accepted
// permessage-deflate has no gorilla Conn while it writes small frames (and
// heartbeats); a large message is deflated by the Conn made for it, and
// the frames around it arrive in order.
func TestLazyGorillaDeflates(t *testing.T) {
	c, first, ss := deflateSession(t)
	if !bytes.Contains(first, []byte("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n")) {
		t.Fatalf("101 without the extension: %q", first)
	}
	hasGorilla := func() bool {
		ss.mu.Lock()
		w := ss.ws
		ss.mu.Unlock()
		w.gmu.Lock()
		defer w.gmu.Unlock()
		return w.conn != nil
	}
	big := strings.Repeat("quote:update ", 400) // 5,200 bytes, over the 1,024 threshold
	for _, m := range []string{"small", big, "after"} {
		if err := ss.Send(NewMessage([]byte(m), false)); err != nil {
			t.Fatal(err)
		}
	}
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	readFrame := func() (byte, []byte) {
		h := make([]byte, 2)
		if _, err := io.ReadFull(br, h); err != nil {
			t.Fatal(err)
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			io.ReadFull(br, ext[:])
			n = int(ext[0])<<8 | int(ext[1])
		case 127:
			t.Fatal("unexpected 64-bit length")
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatal(err)
		}
		return h[0], p
	}
	if h, p := readFrame(); h != 0x81 || string(p) != "4small" {
		t.Fatalf("first frame %#x %q", h, p)
	}
	h, p := readFrame()
	if h != 0xc1 {
		t.Fatalf("large frame header %#x, want 0xc1 (FIN, RSV1: deflated, text)", h)
	}
	inflated, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}))))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("inflate: %v", err)
	}
	if string(inflated) != "4"+big {
		t.Fatalf("inflated %d bytes, want the message", len(inflated))
	}
	if h, p := readFrame(); h != 0x81 || string(p) != "4after" {
		t.Fatalf("third frame %#x %q", h, p)
	}
	if !hasGorilla() {
		t.Fatal("the deflated frame was written without gorilla's Conn")
	}
}

// TestNoGorillaForPlainFrames: without a frame to deflate, a Listener
// session never makes a gorilla Conn (a kilobyte per connection), through
// inline writes, the writer (heartbeats) and the close.
func TestNoGorillaForPlainFrames(t *testing.T) {
	c, _, ss := deflateSession(t)
	ss.mu.Lock()
	w := ss.ws
	// A frame queued while a writer is marked busy goes to the writer
	// goroutine when released (as a heartbeat does).
	ss.writing = true
	ss.queue = append(ss.queue, NewMessage([]byte("queued"), false))
	ss.writing = false
	ss.startWriterLocked()
	ss.mu.Unlock()
	readFrames(t, c, "4queued", "from the writer goroutine")
	ss.Close()
	got, _ := io.ReadAll(c)
	if string(got) != "\x88\x02\x03\xe8" {
		t.Fatalf("after Close: %q, want a close frame with status 1000", got)
	}
	w.gmu.Lock()
	defer w.gmu.Unlock()
	if w.conn != nil {
		t.Fatal("a gorilla Conn was made")
	}
}
