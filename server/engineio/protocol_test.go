package engineio

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// runs is how often the timing-sensitive cases repeat; each must pass every time.
const runs = 20

func handshakeRE(upgrades string) *regexp.Regexp {
	return regexp.MustCompile(`^0\{"sid":"([A-Za-z0-9_-]{20})","upgrades":` + regexp.QuoteMeta(upgrades) +
		`,"pingInterval":300,"pingTimeout":200,"maxPayload":1000\}$`)
}

// jsonKeys returns the keys of a JSON object in the order written.
func jsonKeys(t *testing.T, s string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", s)
	}
	var keys []string
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

var handshakeKeys = []string{"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}

func TestHandshake(t *testing.T) {
	e := startEngine(t, Config{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, MaxPayload: 1000}, false)
	t.Run("polling", func(t *testing.T) {
		sids := map[string]bool{}
		for range 5 {
			r := e.request(t, http.MethodGet, "?EIO=4&transport=polling", "")
			if r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			m := handshakeRE(`["websocket"]`).FindStringSubmatch(r.body)
			if m == nil {
				t.Fatalf("body %q", r.body)
			}
			if got := jsonKeys(t, r.body[1:]); fmt.Sprint(got) != fmt.Sprint(handshakeKeys) {
				t.Fatalf("keys %v", got)
			}
			for k, want := range map[string]string{"Content-Type": "text/plain; charset=UTF-8", "Cache-Control": "no-store", "Content-Length": fmt.Sprint(len(r.body))} {
				if got := r.header.Get(k); got != want {
					t.Fatalf("%s = %q, want %q", k, got, want)
				}
			}
			sids[m[1]] = true
			e.nextSession(t)
		}
		if len(sids) != 5 {
			t.Fatalf("sids not distinct: %v", sids)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		c := e.mustDial(t, "?EIO=4&transport=websocket")
		open := readText(t, c)
		if !handshakeRE(`[]`).MatchString(open) {
			t.Fatalf("open packet %q", open)
		}
		if got := jsonKeys(t, open[1:]); fmt.Sprint(got) != fmt.Sprint(handshakeKeys) {
			t.Fatalf("keys %v", got)
		}
		if h := e.nextSession(t); h.s.Transport() != "websocket" {
			t.Fatalf("transport %s", h.s.Transport())
		}
	})
	t.Run("websocket disabled", func(t *testing.T) {
		e2 := startEngine(t, Config{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, MaxPayload: 1000, DisableWebSocket: true}, false)
		r := e2.request(t, http.MethodGet, "?EIO=4&transport=polling", "")
		if !handshakeRE(`[]`).MatchString(r.body) {
			t.Fatalf("body %q", r.body)
		}
	})
}

func TestHandshakeErrors(t *testing.T) {
	e := startEngine(t, Config{}, false)
	const (
		transport = `{"code":0,"message":"Transport unknown"}`
		sid       = `{"code":1,"message":"Session ID unknown"}`
		method    = `{"code":2,"message":"Bad handshake method"}`
		bad       = `{"code":3,"message":"Bad request"}`
		version   = `{"code":5,"message":"Unsupported protocol version"}`
	)
	tests := []struct {
		name, method, query, want string
	}{
		{"missing EIO", "GET", "?transport=polling", version},
		{"EIO=abc", "GET", "?EIO=abc&transport=polling", version},
		{"EIO=3", "GET", "?EIO=3&transport=polling", version},
		{"EIO=5", "GET", "?EIO=5&transport=polling", version},
		{"missing transport", "GET", "?EIO=4", transport},
		{"unknown transport", "GET", "?EIO=4&transport=abc", transport},
		{"webtransport", "GET", "?EIO=4&transport=webtransport", transport},
		{"POST without sid", "POST", "?EIO=4&transport=polling", method},
		{"PUT without sid", "PUT", "?EIO=4&transport=polling", method},
		{"GET unknown sid", "GET", "?EIO=4&transport=polling&sid=nope", sid},
		{"POST unknown sid", "POST", "?EIO=4&transport=polling&sid=nope", sid},
		{"websocket without Upgrade", "GET", "?EIO=4&transport=websocket", bad},
		{"websocket unknown sid without Upgrade", "GET", "?EIO=4&transport=websocket&sid=nope", sid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.method != "GET" {
				body = "4x"
			}
			r := e.request(t, tt.method, tt.query, body)
			if r.status != 400 || r.body != tt.want || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %q (%s), want 400 %q application/json", r.status, r.body, r.header.Get("Content-Type"), tt.want)
			}
		})
	}
	t.Run("websocket unknown sid", func(t *testing.T) {
		_, res, err := e.dial(t, "?EIO=4&transport=websocket&sid=nope", nil)
		if err == nil || res == nil {
			t.Fatalf("dial: %v, response %v", err, res)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		if res.StatusCode != 400 || res.Header.Get("Content-Type") != "text/html" || b.String() != "Session ID unknown" {
			t.Fatalf("got %d %s %q", res.StatusCode, res.Header.Get("Content-Type"), b.String())
		}
	})
	for _, q := range []string{"?transport=websocket", "?EIO=3&transport=websocket"} {
		t.Run("websocket bad EIO "+q, func(t *testing.T) {
			c, _, err := e.dial(t, q, nil)
			if err != nil {
				return // refused at the HTTP level: equally no session
			}
			defer c.Close()
			frames, _ := readUntilClose(t, c)
			if len(frames) != 0 {
				t.Fatalf("got frames %q", frames)
			}
		})
	}
	if n := e.srv.Count(); n != 0 {
		t.Fatalf("%d sessions opened by refused requests", n)
	}
}

func TestPollingMessages(t *testing.T) {
	e := startEngine(t, Config{}, true)
	sid, h := e.handshake(t)
	tests := []struct {
		name     string
		body     string
		received []inMsg
		poll     string
	}{
		{"one message", "4hello", []inMsg{{"hello", false}}, "4hello"},
		{"several with \\x1e", "4a\x1e4é\x1e4", []inMsg{{"a", false}, {"é", false}, {"", false}}, "4a\x1e4é\x1e4"},
		{"binary as base64", "bAQID/w==", []inMsg{{"\x01\x02\x03\xff", true}}, "bAQID/w=="},
		{"binary unpadded", "bAA", []inMsg{{"\x00", true}}, "bAA=="},
		{"text and binary", "4t\x1ebYg==", []inMsg{{"t", false}, {"b", true}}, "4t\x1ebYg=="},
		{"noop and upgrade ignored", "6\x1e4x", []inMsg{{"x", false}}, "4x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.push(t, sid, tt.body)
			if r.status != 200 || r.body != "ok" || r.header.Get("Content-Type") != "text/html" {
				t.Fatalf("POST: %d %q %s", r.status, r.body, r.header.Get("Content-Type"))
			}
			for _, want := range tt.received {
				if got := h.waitMessage(t); got != want {
					t.Fatalf("handler got %+v, want %+v", got, want)
				}
			}
			// The echoes were sent during the POST: the GET takes them all.
			if g := e.poll(t, sid); g.status != 200 || g.body != tt.poll {
				t.Fatalf("GET: %d %q, want %q", g.status, g.body, tt.poll)
			}
		})
	}
	t.Run("a poll waits for output", func(t *testing.T) {
		ch, cancel := e.startPoll(t, h.s)
		defer cancel()
		if err := h.s.Send(NewMessage([]byte("later"), false)); err != nil {
			t.Fatal(err)
		}
		if r := waitResponse(t, ch); r.body != "4later" {
			t.Fatalf("poll = %q", r.body)
		}
	})
}

func TestHeartbeat(t *testing.T) {
	cfg := Config{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond}
	t.Run("polling ping, pong, ping timeout", func(t *testing.T) {
		e := startEngine(t, cfg, false)
		for i := range runs {
			sid, h := e.handshake(t)
			start := time.Now()
			if r := e.poll(t, sid); r.body != "2" {
				t.Fatalf("run %d: first poll %q, want ping", i, r.body)
			}
			if d := time.Since(start); d < 40*time.Millisecond {
				t.Fatalf("run %d: ping after %v, before pingInterval", i, d)
			}
			if r := e.push(t, sid, "3"); r.body != "ok" {
				t.Fatalf("run %d: pong POST %q", i, r.body)
			}
			if r := e.poll(t, sid); r.body != "2" {
				t.Fatalf("run %d: second poll %q, want ping", i, r.body)
			}
			// No pong: the pending poll is answered with a close packet.
			pongless := time.Now()
			ch, cancel := e.startPoll(t, h.s)
			r := waitResponse(t, ch)
			cancel()
			if r.status != 200 || r.body != "1" {
				t.Fatalf("run %d: pending poll at ping timeout: %d %q, want 1", i, r.status, r.body)
			}
			if d := time.Since(pongless); d < 30*time.Millisecond {
				t.Fatalf("run %d: closed after %v, before pingTimeout", i, d)
			}
			if c := h.waitClose(t); c.reason != "ping timeout" {
				t.Fatalf("run %d: reason %q", i, c.reason)
			}
			if r := e.poll(t, sid); r.status != 400 || r.body != `{"code":1,"message":"Session ID unknown"}` {
				t.Fatalf("run %d: poll after timeout %d %q", i, r.status, r.body)
			}
		}
	})
	t.Run("websocket ping, pong, ping timeout", func(t *testing.T) {
		e := startEngine(t, cfg, false)
		for i := range runs {
			c := e.mustDial(t, "?EIO=4&transport=websocket")
			readText(t, c) // open
			h := e.nextSession(t)
			for j := range 3 {
				if m := readText(t, c); m != "2" {
					t.Fatalf("run %d: frame %q, want ping %d", i, m, j)
				}
				writeText(t, c, "3")
			}
			if m := readText(t, c); m != "2" {
				t.Fatalf("run %d: frame %q, want ping", i, m)
			}
			if _, err := readUntilClose(t, c); err == nil {
				t.Fatalf("run %d: no close", i)
			}
			if cl := h.waitClose(t); cl.reason != "ping timeout" {
				t.Fatalf("run %d: reason %q", i, cl.reason)
			}
			c.Close()
		}
	})
	t.Run("client ping is an error", func(t *testing.T) {
		e := startEngine(t, Config{}, false)
		sid, h := e.handshake(t)
		if r := e.push(t, sid, "2"); r.body != "ok" {
			t.Fatalf("POST %q", r.body)
		}
		if cl := h.waitClose(t); cl.reason != "transport error" {
			t.Fatalf("reason %q", cl.reason)
		}
	})
}

func TestConcurrentPolls(t *testing.T) {
	e := startEngine(t, Config{}, false)
	for i := range runs {
		sid, h := e.handshake(t)
		first, cancel := e.startPoll(t, h.s)
		second := e.poll(t, sid)
		if second.status != 400 || second.body != "" || second.header.Get("Content-Type") != "" {
			t.Fatalf("run %d: second poll %d %q %q, want bare 400", i, second.status, second.body, second.header.Get("Content-Type"))
		}
		if r := waitResponse(t, first); r.status != 200 || r.body != "1" || r.header.Get("Content-Type") != "text/plain; charset=UTF-8" {
			t.Fatalf("run %d: first poll %d %q", i, r.status, r.body)
		}
		cancel()
		if cl := h.waitClose(t); cl.reason != "transport error" || !errors.Is(cl.err, ErrOverlap) {
			t.Fatalf("run %d: close %q %v", i, cl.reason, cl.err)
		}
		if r := e.poll(t, sid); r.status != 400 || r.body != `{"code":1,"message":"Session ID unknown"}` {
			t.Fatalf("run %d: after %d %q", i, r.status, r.body)
		}
	}
}

func TestCancelledPollClosesSession(t *testing.T) {
	e := startEngine(t, Config{}, false)
	for i := range runs {
		sid, h := e.handshake(t)
		ch, cancel := e.startPoll(t, h.s)
		cancel()
		if r := waitResponse(t, ch); r.status != -1 {
			t.Fatalf("run %d: cancelled poll answered %d %q", i, r.status, r.body)
		}
		if cl := h.waitClose(t); cl.reason != "transport error" {
			t.Fatalf("run %d: reason %q", i, cl.reason)
		}
		if r := e.poll(t, sid); r.status != 400 {
			t.Fatalf("run %d: session alive after the cancelled poll: %d %q", i, r.status, r.body)
		}
	}
}

func TestForcedClose(t *testing.T) {
	e := startEngine(t, Config{}, false)
	for i := range runs {
		sid, h := e.handshake(t)
		ch, cancel := e.startPoll(t, h.s)
		if r := e.push(t, sid, "1"); r.status != 200 || r.body != "ok" {
			t.Fatalf("run %d: POST 1: %d %q", i, r.status, r.body)
		}
		if r := waitResponse(t, ch); r.status != 200 || r.body != "6" {
			t.Fatalf("run %d: pending poll %d %q, want 6", i, r.status, r.body)
		}
		cancel()
		if cl := h.waitClose(t); cl.reason != "transport close" {
			t.Fatalf("run %d: reason %q", i, cl.reason)
		}
		if r := e.poll(t, sid); r.status != 400 {
			t.Fatalf("run %d: after %d %q", i, r.status, r.body)
		}
	}
}

func TestServerCloseDeliversOnNextPoll(t *testing.T) {
	e := startEngine(t, Config{}, false)
	sid, h := e.handshake(t)
	if err := h.s.Send(NewMessage([]byte("bye"), false)); err != nil {
		t.Fatal(err)
	}
	h.s.Close()
	// As Node: the queued packets in an answer of their own, then the close
	// packet after a NOOP in the next one.
	if r := e.poll(t, sid); r.body != "4bye" {
		t.Fatalf("poll %q, want the queued message", r.body)
	}
	if r := e.poll(t, sid); r.body != "6\x1e1" {
		t.Fatalf("second poll %q, want NOOP and close", r.body)
	}
	if r := e.poll(t, sid); r.status != 400 {
		t.Fatalf("after close %d %q", r.status, r.body)
	}
	if err := h.s.Send(NewMessage([]byte("x"), false)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after close: %v", err)
	}
}

// TestServerCloseWithPendingPoll: a message and the close while a poll
// waits: the message alone in that poll's answer, the close in the next.
func TestServerCloseWithPendingPoll(t *testing.T) {
	e := startEngine(t, Config{}, false)
	for i := range runs {
		sid, h := e.handshake(t)
		ch, cancel := e.startPoll(t, h.s)
		if err := h.s.Send(NewMessage([]byte("41"), false)); err != nil {
			t.Fatal(err)
		}
		h.s.Close()
		if r := waitResponse(t, ch); r.body != "441" {
			t.Fatalf("run %d: pending poll %q, want the message alone", i, r.body)
		}
		cancel()
		if r := e.poll(t, sid); r.body != "6\x1e1" {
			t.Fatalf("run %d: next poll %q, want NOOP and close", i, r.body)
		}
		if cl := h.waitClose(t); cl.reason != "forced close" {
			t.Fatalf("run %d: reason %q", i, cl.reason)
		}
	}
}

func TestUpgrade(t *testing.T) {
	e := startEngine(t, Config{}, true)
	const bad = `{"code":3,"message":"Bad request"}`
	for i := range runs {
		sid, h := e.handshake(t)
		poll, cancel := e.startPoll(t, h.s)
		c := e.mustDial(t, "?EIO=4&transport=websocket&sid="+sid)
		writeText(t, c, "2probe")
		if m := readText(t, c); m != "3probe" {
			t.Fatalf("run %d: probe answer %q", i, m)
		}
		if r := waitResponse(t, poll); r.status != 200 || r.body != "6" {
			t.Fatalf("run %d: pending poll %d %q, want 6", i, r.status, r.body)
		}
		cancel()
		// A second WebSocket during the upgrade is closed without a frame.
		assertSecondWebSocketClosed(t, e, sid)
		writeText(t, c, "5")
		writeText(t, c, "4after-upgrade")
		if m := h.waitMessage(t); m.data != "after-upgrade" {
			t.Fatalf("run %d: handler got %q", i, m.data)
		}
		if m := readText(t, c); m != "4after-upgrade" {
			t.Fatalf("run %d: echo %q", i, m)
		}
		if h.s.Transport() != "websocket" {
			t.Fatalf("run %d: transport %s", i, h.s.Transport())
		}
		for _, r := range []response{e.poll(t, sid), e.push(t, sid, "4x")} {
			if r.status != 400 || r.body != bad || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("run %d: polling after the upgrade: %d %q", i, r.status, r.body)
			}
		}
		assertSecondWebSocketClosed(t, e, sid)
		writeText(t, c, "4still-open")
		if m := readText(t, c); m != "4still-open" {
			t.Fatalf("run %d: echo %q", i, m)
		}
		c.Close()
		if cl := h.waitClose(t); cl.reason != "transport close" && cl.reason != "transport error" {
			t.Fatalf("run %d: reason %q", i, cl.reason)
		}
	}
}

func assertSecondWebSocketClosed(t *testing.T, e *testEngine, sid string) {
	t.Helper()
	c2, _, err := e.dial(t, "?EIO=4&transport=websocket&sid="+sid, nil)
	if err != nil {
		t.Fatalf("second websocket refused at HTTP level: %v", err)
	}
	defer c2.Close()
	frames, err := readUntilClose(t, c2)
	if len(frames) != 0 {
		t.Fatalf("second websocket got frames %q", frames)
	}
	if !websocket.IsCloseError(err, websocket.CloseNoStatusReceived) {
		t.Fatalf("second websocket ended with %v, want close 1005", err)
	}
}

func TestPostInvalidPayload(t *testing.T) {
	e := startEngine(t, Config{}, false)
	for _, body := range []string{"abc", "4first\x1eabc", "4first\x1e", "7"} {
		t.Run(fmt.Sprintf("%q", body), func(t *testing.T) {
			sid, h := e.handshake(t)
			r := e.push(t, sid, body)
			if r.status != 200 || r.body != "ok" {
				t.Fatalf("POST %d %q, want 200 ok", r.status, r.body)
			}
			if strings.HasPrefix(body, "4first") {
				if m := h.waitMessage(t); m.data != "first" {
					t.Fatalf("packet before the bad one: %q", m.data)
				}
			}
			if cl := h.waitClose(t); cl.reason != "parse error" || !errors.Is(cl.err, ErrParse) {
				t.Fatalf("close %q %v", cl.reason, cl.err)
			}
			if g := e.poll(t, sid); g.status != 400 || g.body != `{"code":1,"message":"Session ID unknown"}` {
				t.Fatalf("GET after %d %q", g.status, g.body)
			}
		})
	}
	t.Run("binary content type", func(t *testing.T) {
		sid, h := e.handshake(t)
		r, err := e.do(t, t.Context(), http.MethodPost, "?EIO=4&transport=polling&sid="+sid, "4x", map[string]string{"Content-Type": "application/octet-stream"})
		if err != nil || r.status != 400 {
			t.Fatalf("POST %d %v", r.status, err)
		}
		h.waitClose(t)
	})
}

func TestMaxPayload(t *testing.T) {
	e := startEngine(t, Config{MaxPayload: 100}, true)
	t.Run("polling 413, the session stays", func(t *testing.T) {
		sid, h := e.handshake(t)
		r := e.push(t, sid, "4"+strings.Repeat("x", 100))
		if r.status != 413 || r.body != "" || r.header.Get("Content-Type") != "" {
			t.Fatalf("POST %d %q %q", r.status, r.body, r.header.Get("Content-Type"))
		}
		if r := e.push(t, sid, "4"+strings.Repeat("y", 99)); r.status != 200 {
			t.Fatalf("POST at the limit: %d %q", r.status, r.body)
		}
		if m := h.waitMessage(t); len(m.data) != 99 {
			t.Fatalf("handler got %d bytes", len(m.data))
		}
		if g := e.poll(t, sid); g.body != "4"+strings.Repeat("y", 99) {
			t.Fatalf("echo %q", g.body)
		}
	})
	t.Run("polling 413 for a large body: the body is read, the connection kept", func(t *testing.T) {
		// 500 KB over a 100-byte limit: more than net/http drops by itself
		// (256 KiB) before closing a connection, which resets it under a
		// client still sending (it loses the 413). Node reads such a body
		// to its end; so do we, and the connection stays usable.
		sid, _ := e.handshake(t)
		c, err := net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		body := "4" + strings.Repeat("x", 500_000)
		go fmt.Fprintf(c, "POST /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: %d\r\n\r\n%s", sid, len(body), body)
		_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 413 || res.Close {
			t.Fatalf("status %d, close %v: want 413 on a connection kept open", res.StatusCode, res.Close)
		}
		fmt.Fprintf(c, "GET /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\n\r\n", sid)
		e.srv.Session(sid).Send(NewMessage([]byte("after"), false))
		res, err = http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("the next request on the connection: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(b) != "4after" {
			t.Fatalf("poll after the 413: %d %q", res.StatusCode, b)
		}
	})
	t.Run("polling chunked body over the limit", func(t *testing.T) {
		sid, _ := e.handshake(t)
		req, _ := http.NewRequest(http.MethodPost, e.url+"?EIO=4&transport=polling&sid="+sid, struct{ *strings.Reader }{strings.NewReader("4" + strings.Repeat("x", 200))})
		req.ContentLength = -1
		res, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	t.Run("websocket message over the limit closes with 1009", func(t *testing.T) {
		c := e.mustDial(t, "?EIO=4&transport=websocket")
		readText(t, c)
		h := e.nextSession(t)
		writeText(t, c, "4"+strings.Repeat("z", 99))
		if m := readText(t, c); len(m) != 100 {
			t.Fatalf("echo of %d bytes", len(m))
		}
		writeText(t, c, "4"+strings.Repeat("z", 100))
		_, err := readUntilClose(t, c)
		if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
			t.Fatalf("ended with %v, want 1009", err)
		}
		if cl := h.waitClose(t); !errors.Is(cl.err, ErrTooLarge) {
			t.Fatalf("close %q %v", cl.reason, cl.err)
		}
	})
}

func TestWebSocketMessages(t *testing.T) {
	e := startEngine(t, Config{}, true)
	c := e.mustDial(t, "?EIO=4&transport=websocket")
	readText(t, c)
	h := e.nextSession(t)
	writeText(t, c, "4héllo")
	if m := readText(t, c); m != "4héllo" {
		t.Fatalf("echo %q", m)
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	mt, b, err := c.ReadMessage()
	if err != nil || mt != websocket.BinaryMessage || !bytes.Equal(b, []byte{0, 1, 2}) {
		t.Fatalf("binary echo %d %v %v", mt, b, err)
	}
	for _, want := range []inMsg{{"héllo", false}, {"\x00\x01\x02", true}} {
		if got := h.waitMessage(t); got != want {
			t.Fatalf("handler %+v, want %+v", got, want)
		}
	}
	writeText(t, c, "x")
	if _, err := readUntilClose(t, c); err == nil {
		t.Fatal("bad packet did not close")
	}
	if cl := h.waitClose(t); cl.reason != "parse error" {
		t.Fatalf("reason %q", cl.reason)
	}
}
