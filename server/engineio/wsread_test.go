package engineio

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tradedash/realtime/internal/wsframe"
)

// clientFrame builds a masked client frame.
func clientFrame(fin bool, op byte, payload []byte) []byte {
	f := wsframe.AppendHeader(nil, fin, op, len(payload), true)
	key := []byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, key...)
	for i, c := range payload {
		f = append(f, c^key[i&3])
	}
	return f
}

type got struct {
	op   byte
	data string
}

// TestReaderFrames feeds a stream cut at every size: lengths of 7, 16 and
// 64 bits, a message in three fragments with a ping between them, a pong,
// binary; every message arrives whole, in order, and the ping is answered.
func TestReaderFrames(t *testing.T) {
	mid := strings.Repeat("m", 300)
	big := strings.Repeat("b", 70000)
	var stream []byte
	stream = append(stream, clientFrame(true, opText, []byte("4hello"))...)
	stream = append(stream, clientFrame(true, opText, []byte("4"+mid))...)
	stream = append(stream, clientFrame(false, opText, []byte("4fr"))...)
	stream = append(stream, clientFrame(true, opPing, []byte("pi"))...)
	stream = append(stream, clientFrame(false, opContinuation, []byte("ag"))...)
	stream = append(stream, clientFrame(true, opContinuation, []byte("ment"))...)
	stream = append(stream, clientFrame(true, opPong, nil)...)
	stream = append(stream, clientFrame(true, opBinary, []byte{0, 1, 2})...)
	stream = append(stream, clientFrame(true, opText, []byte("4"+big))...)
	want := []got{{opText, "4hello"}, {opText, "4" + mid}, {opText, "4fragment"}, {opBinary, "\x00\x01\x02"}, {opText, "4" + big}}

	for _, step := range []int{1, 3, 100, 4096, len(stream)} {
		var msgs []got
		var pongs []string
		r := &wsReader{limit: 1 << 20, pong: func(d []byte) { pongs = append(pongs, string(d)) }}
		src := bytes.Clone(stream)
		for i := 0; i < len(src); i += step {
			data := append(r.pending, src[i:min(i+step, len(src))]...)
			rest, err := r.feed(data, func(op byte, d []byte) bool {
				msgs = append(msgs, got{op, string(d)})
				return true
			})
			if err != nil {
				t.Fatalf("step %d at %d: %v", step, i, err)
			}
			r.keep(rest)
		}
		if len(r.pending) != 0 || r.msgOp != 0 {
			t.Fatalf("step %d: %d bytes pending, msgOp %d", step, len(r.pending), r.msgOp)
		}
		if len(msgs) != len(want) {
			t.Fatalf("step %d: %d messages, want %d", step, len(msgs), len(want))
		}
		for i := range want {
			if msgs[i] != want[i] {
				t.Fatalf("step %d: message %d = %d %.20q, want %d %.20q", step, i, msgs[i].op, msgs[i].data, want[i].op, want[i].data)
			}
		}
		if len(pongs) != 1 || pongs[0] != "pi" {
			t.Fatalf("step %d: pongs %q", step, pongs)
		}
	}
}

// TestReaderStopsAfterMessage: feed returns what follows the message at
// which the handler stopped (the upgrade packet), untouched.
func TestReaderStopsAfterMessage(t *testing.T) {
	after := clientFrame(true, opText, []byte("4next"))
	stream := append(clientFrame(true, opText, []byte("5")), after...)
	r := &wsReader{limit: 100}
	n := 0
	rest, err := r.feed(stream, func(op byte, d []byte) bool { n++; return false })
	if err != nil || n != 1 || !bytes.Equal(rest, after) {
		t.Fatalf("feed: err %v, %d messages, rest %q", err, n, rest)
	}
}

func TestReaderRefusals(t *testing.T) {
	unmasked := []byte{0x81, 0x01, 'x'}
	long := bytes.Repeat([]byte{'x'}, 126)
	cases := []struct {
		name   string
		stream []byte
		code   int
	}{
		{"unmasked", unmasked, websocket.CloseProtocolError},
		{"reserved bits", append([]byte{0x80 | 0x40 | opText}, clientFrame(true, opText, []byte("4x"))[1:]...), websocket.CloseProtocolError},
		{"unknown opcode", clientFrame(true, 0x3, []byte("x")), websocket.CloseProtocolError},
		{"long control", clientFrame(true, opPing, long), websocket.CloseProtocolError},
		{"fragmented control", clientFrame(false, opPing, []byte("x")), websocket.CloseProtocolError},
		{"continuation first", clientFrame(true, opContinuation, []byte("x")), websocket.CloseProtocolError},
		{"new message in fragments", append(clientFrame(false, opText, []byte("4")), clientFrame(true, opText, []byte("4"))...), websocket.CloseProtocolError},
		{"over the limit", clientFrame(true, opText, bytes.Repeat([]byte{'4'}, 101)), websocket.CloseMessageTooBig},
		{"fragments over the limit", append(clientFrame(false, opText, bytes.Repeat([]byte{'4'}, 60)), clientFrame(true, opContinuation, bytes.Repeat([]byte{'x'}, 41))...), websocket.CloseMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &wsReader{limit: 100, pong: func([]byte) {}}
			_, err := r.feed(tc.stream, func(byte, []byte) bool { return true })
			var pe *wsProtocolError
			if !errors.As(err, &pe) || pe.code != tc.code {
				t.Fatalf("err = %v, want close code %d", err, tc.code)
			}
		})
	}
	// exactly at the limit passes
	r := &wsReader{limit: 100}
	if _, err := r.feed(clientFrame(true, opText, bytes.Repeat([]byte{'4'}, 100)), func(byte, []byte) bool { return true }); err != nil {
		t.Fatalf("message of exactly the limit: %v", err)
	}
	// a close frame ends the input
	if _, err := r.feed(clientFrame(true, opClose, []byte{3, 232}), func(byte, []byte) bool { return true }); !errors.Is(err, errPeerClosed) {
		t.Fatalf("close frame: %v", err)
	}
}

// rawWS opens a WebSocket by hand, so that the test can write any bytes.
func rawWS(t *testing.T, e *testEngine, query string) (net.Conn, *readBuf) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	req := "GET /engine.io/" + query + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	rb := &readBuf{c: c}
	head := rb.until(t, "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.1 101") {
		t.Fatalf("upgrade answer %q", head)
	}
	return c, rb
}

type readBuf struct {
	c   net.Conn
	buf []byte
}

func (r *readBuf) fill(t *testing.T) {
	t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(waitTimeout))
	b := make([]byte, 4096)
	n, err := r.c.Read(b)
	if err != nil {
		t.Fatalf("read: %v (have %q)", err, r.buf)
	}
	r.buf = append(r.buf, b[:n]...)
}

func (r *readBuf) until(t *testing.T, sep string) string {
	t.Helper()
	for {
		if i := bytes.Index(r.buf, []byte(sep)); i >= 0 {
			s := string(r.buf[:i+len(sep)])
			r.buf = r.buf[i+len(sep):]
			return s
		}
		r.fill(t)
	}
}

// frame reads one server frame: opcode and payload.
func (r *readBuf) frame(t *testing.T) (byte, string) {
	t.Helper()
	for len(r.buf) < 2 || len(r.buf) < 2+int(r.buf[1]&0x7f) {
		r.fill(t)
	}
	n := int(r.buf[1] & 0x7f)
	if n >= 126 {
		t.Fatalf("test reads small frames only")
	}
	op, p := r.buf[0]&0x0f, string(r.buf[2:2+n])
	r.buf = r.buf[2+n:]
	return op, p
}

// TestWebSocketRawInput: frames written in odd pieces and all at once reach
// the handler in order; a ping is answered in order with the output.
func TestWebSocketRawInput(t *testing.T) {
	e := startEngine(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute}, true)
	c, rb := rawWS(t, e, "?EIO=4&transport=websocket")
	h := e.nextSession(t)
	if op, p := rb.frame(t); op != opText || !strings.HasPrefix(p, "0{") {
		t.Fatalf("open frame %d %q", op, p)
	}
	var all []byte
	for i := range 100 {
		all = append(all, clientFrame(true, opText, []byte("4m"+string(rune('A'+i%26))))...)
	}
	all = append(all, clientFrame(true, opPing, []byte("p"))...)
	for i := 0; i < len(all); i += 7 { // odd pieces
		if _, err := c.Write(all[i:min(i+7, len(all))]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		want := "m" + string(rune('A'+i%26))
		if m := h.waitMessage(t); m.data != want {
			t.Fatalf("message %d = %q, want %q", i, m.data, want)
		}
	}
	// The echoes in order; the pong, sent by the reader, anywhere among
	// them (the echoes come from the handler).
	pongs, i := 0, 0
	for range 101 {
		op, p := rb.frame(t)
		if op == opPong {
			if p != "p" {
				t.Fatalf("pong %q", p)
			}
			pongs++
			continue
		}
		if want := "4m" + string(rune('A'+i%26)); op != opText || p != want {
			t.Fatalf("frame %d = %d %q, want %q", i, op, p, want)
		}
		i++
	}
	if pongs != 1 {
		t.Fatalf("%d pongs", pongs)
	}
}

// TestWebSocketRawProtocolError: an unmasked frame gets close 1002 and the
// session ends with "transport error"; the server keeps serving.
func TestWebSocketRawProtocolError(t *testing.T) {
	e := startEngine(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute}, false)
	c, rb := rawWS(t, e, "?EIO=4&transport=websocket")
	h := e.nextSession(t)
	rb.frame(t) // open
	if _, err := c.Write([]byte{0x81, 0x02, '4', 'x'}); err != nil {
		t.Fatal(err)
	}
	op, p := rb.frame(t)
	if op != opClose || len(p) < 2 || binary.BigEndian.Uint16([]byte(p)) != websocket.CloseProtocolError {
		t.Fatalf("frame %d %q, want close 1002", op, p)
	}
	if ci := h.waitClose(t); ci.reason != "transport error" {
		t.Fatalf("close reason %q", ci.reason)
	}
	c2 := e.mustDial(t, "?EIO=4&transport=websocket")
	if !strings.HasPrefix(readText(t, c2), "0{") {
		t.Fatal("server stopped serving")
	}
}

// TestUpgradeKeepsInputAfterUpgradePacket: messages written in the same
// write as the upgrade packet reach the handler, in order.
func TestUpgradeKeepsInputAfterUpgradePacket(t *testing.T) {
	e := startEngine(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute}, false)
	sid, h := e.handshake(t)
	c, rb := rawWS(t, e, "?EIO=4&transport=websocket&sid="+sid)
	if _, err := c.Write(clientFrame(true, opText, []byte("2probe"))); err != nil {
		t.Fatal(err)
	}
	if op, p := rb.frame(t); op != opText || p != "3probe" {
		t.Fatalf("probe answer %d %q", op, p)
	}
	var b []byte
	b = append(b, clientFrame(true, opText, []byte("5"))...)
	b = append(b, clientFrame(true, opText, []byte("4one"))...)
	b = append(b, clientFrame(true, opText, []byte("4two"))...)
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"one", "two"} {
		if m := h.waitMessage(t); m.data != want {
			t.Fatalf("message %q, want %q", m.data, want)
		}
	}
	waitFor(t, "the websocket transport", func() bool { return h.s.Transport() == "websocket" })
}

// TestWebSocketInputBackPressure: a handler slower than the client pauses
// the socket's input; nothing is lost and the order holds.
func TestWebSocketInputBackPressure(t *testing.T) {
	e := startEngine(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute}, false)
	c := e.mustDial(t, "?EIO=4&transport=websocket")
	h := e.nextSession(t)
	readText(t, c) // open
	const n = 1000
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if err := c.WriteMessage(websocket.TextMessage, []byte("4"+strings.Repeat("x", i%50)+"|"+string(rune('0'+i%10)))); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range n {
		m := h.waitMessage(t)
		if want := strings.Repeat("x", i%50) + "|" + string(rune('0'+i%10)); m.data != want {
			t.Fatalf("message %d = %q, want %q", i, m.data, want)
		}
		if i%100 == 0 {
			time.Sleep(2 * time.Millisecond) // a slow handler now and then: the queue fills
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// deflated compresses p as a permessage-deflate client does (no context
// takeover): a raw deflate stream without its final 00 00 ff ff.
func deflated(t *testing.T, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	fw, err := flate.NewWriter(&b, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(p)
	fw.Flush()
	out := b.Bytes()
	if !bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
		t.Fatalf("flush did not end with the sync marker: %x", out[len(out)-4:])
	}
	return out[:len(out)-4]
}

// withRSV1 sets RSV1 on a client frame (the message is deflated).
func withRSV1(f []byte) []byte { f[0] |= 0x40; return f }

// TestReaderInflates: with permessage-deflate, a message whose first frame
// has RSV1 is inflated, whole or in fragments, between plain messages; the
// inflated size is bounded by the limit; data that does not inflate is
// refused with 1007; RSV1 without the extension stays a protocol error.
func TestReaderInflates(t *testing.T) {
	big := "4" + strings.Repeat("quote ", 2000)
	z := deflated(t, []byte(big))
	var stream []byte
	stream = append(stream, clientFrame(true, opText, []byte("4plain"))...)
	stream = append(stream, withRSV1(clientFrame(true, opText, z))...)
	stream = append(stream, withRSV1(clientFrame(false, opText, z[:len(z)/2]))...)
	stream = append(stream, clientFrame(true, opPing, []byte("p"))...)
	stream = append(stream, clientFrame(true, opContinuation, z[len(z)/2:])...)
	stream = append(stream, clientFrame(true, opText, []byte("4after"))...)
	for _, step := range []int{1, 5, 1000, len(stream)} {
		var msgs []string
		r := &wsReader{limit: 1 << 20, deflate: true, pong: func([]byte) {}}
		src := bytes.Clone(stream)
		for i := 0; i < len(src); i += step {
			data := append(r.pending, src[i:min(i+step, len(src))]...)
			rest, err := r.feed(data, func(op byte, d []byte) bool {
				msgs = append(msgs, string(d))
				return true
			})
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			r.keep(rest)
		}
		if len(msgs) != 4 || msgs[0] != "4plain" || msgs[1] != big || msgs[2] != big || msgs[3] != "4after" {
			t.Fatalf("step %d: %d messages %.20q", step, len(msgs), msgs)
		}
	}
	refusals := []struct {
		name    string
		deflate bool
		limit   int
		frame   []byte
		code    int
	}{
		{"inflated over the limit", true, 1000, withRSV1(clientFrame(true, opText, z)), websocket.CloseMessageTooBig},
		{"not deflate data", true, 1 << 20, withRSV1(clientFrame(true, opText, []byte{0xff, 0xff, 0xff})), websocket.CloseInvalidFramePayloadData},
		{"RSV1 without the extension", false, 1 << 20, withRSV1(clientFrame(true, opText, z)), websocket.CloseProtocolError},
		{"RSV2 with the extension", true, 1 << 20, append([]byte{0x80 | 0x20 | opText}, clientFrame(true, opText, []byte("4x"))[1:]...), websocket.CloseProtocolError},
	}
	for _, tc := range refusals {
		r := &wsReader{limit: tc.limit, deflate: tc.deflate, pong: func([]byte) {}}
		_, err := r.feed(tc.frame, func(byte, []byte) bool { return true })
		var pe *wsProtocolError
		if !errors.As(err, &pe) || pe.code != tc.code {
			t.Fatalf("%s: err = %v, want close code %d", tc.name, err, tc.code)
		}
	}
}

// TestDeflateClientOverPoller: a client that negotiated permessage-deflate
// (gorilla's client, compressing what it sends) is read by a Poller, with
// no reader goroutine and no gorilla Conn, and what it sends arrives
// inflated; a large answer is deflated for it.
func TestDeflateClientOverPoller(t *testing.T) {
	for _, fast := range []bool{false, true} {
		e := startEngineWith(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute}, true, fast)
		d := websocket.Dialer{EnableCompression: true, HandshakeTimeout: waitTimeout}
		c, res, err := d.Dial(e.wsURL("?EIO=4&transport=websocket"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if !strings.Contains(res.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
			t.Fatal("permessage-deflate not negotiated")
		}
		readText(t, c) // open
		h := e.nextSession(t)
		h.s.mu.Lock()
		w := h.s.ws
		h.s.mu.Unlock()
		// The open packet goes out before the Poller takes the input.
		waitFor(t, "a Poller to read the input", func() bool { return w.rd.Load() != nil })
		c.EnableWriteCompression(true)
		big := strings.Repeat("ask ", 1000)
		for _, m := range []string{"4small", "4" + big} {
			writeText(t, c, m)
			if got := h.waitMessage(t); got.data != m[1:] {
				t.Fatalf("fast %v: handler got %.30q, want %.30q", fast, got.data, m[1:])
			}
			if got := readText(t, c); got != m {
				t.Fatalf("fast %v: echo %.30q, want %.30q", fast, got, m)
			}
		}
	}
}
