package sioclient

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tradedash/realtime/internal/netpoll"
	"github.com/tradedash/realtime/internal/wsframe"
)

func TestCheckUpgrade(t *testing.T) {
	// RFC 6455 section 1.3's example key and accept.
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	ok := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	for _, tc := range []struct{ name, head, err string }{
		{"the RFC's example", ok, ""},
		{"case and spaces", "HTTP/1.1 101 Switching Protocols\r\nupgrade:WebSocket\r\nCONNECTION: keep-alive, Upgrade\r\nsec-websocket-accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo=  \r\n", ""},
		{"not 101", "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n", "status HTTP/1.1 400"},
		{"no Upgrade", strings.Replace(ok, "Upgrade: websocket\r\n", "", 1), "no Upgrade"},
		{"no Connection", strings.Replace(ok, "Connection: Upgrade\r\n", "", 1), "no Connection"},
		{"wrong accept", strings.Replace(ok, "s3pPLM", "x3pPLM", 1), "Sec-WebSocket-Accept"},
		{"extension not asked for", ok + "Sec-WebSocket-Extensions: permessage-deflate\r\n", "extension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkUpgrade([]byte(tc.head), []byte(key))
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("checkUpgrade: %v, want %q", err, tc.err)
			}
		})
	}
}

// TestRawDialRefusals: what is not a 101 with the right accept, or ends
// before the open packet, fails the dial with CodeHandshake, in time.
func TestRawDialRefusals(t *testing.T) {
	p, err := netpoll.New()
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	answers := map[string]string{
		"http error":        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
		"closed after 101":  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n",
		"closed mid-header": "HTTP/1.1 101 Switching",
		"masked open frame": "",
		"silent":            "-", // reads the request, answers nothing: the dial's deadline ends it
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ln.Close() })
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 4096)
				n, _ := c.Read(buf)
				if answer == "" { // a good 101, then a masked frame
					key := ""
					for _, l := range strings.Split(string(buf[:n]), "\r\n") {
						if k, ok := strings.CutPrefix(l, "Sec-WebSocket-Key: "); ok {
							key = k
						}
					}
					_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
						acceptOf(key) + "\r\n\r\n\x81\x82abcd\x00\x00"))
				} else if answer == "-" {
					time.Sleep(2 * time.Second) // past the dial's deadline
				} else {
					_, _ = c.Write([]byte(answer))
				}
			}()
			timeout := 5 * time.Second
			if answer == "-" {
				timeout = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			t0 := time.Now()
			_, err = Dial(ctx, Config{URL: "http://" + ln.Addr().String(), Transport: WebSocket, Poller: p})
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeHandshake {
				t.Fatalf("Dial: %v, want a HANDSHAKE error", err)
			}
			if d := time.Since(t0); d > timeout+time.Second {
				t.Fatalf("Dial took %v with a %v deadline", d, timeout)
			}
		})
	}
}

func acceptOf(key string) string { return string(wsframe.AppendAccept(nil, key)) }

// TestParseHandshake finds the 101's end and the open packet in what was
// read so far, whatever the cut, and keeps what follows them.
func TestParseHandshake(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	open := `0{"sid":"s","pingInterval":25000}`
	next := wsframe.AppendHeader(nil, true, 1, 4, false)
	next = append(next, "40{}"...)
	stream := append(append([]byte(head), wsframe.AppendHeader(nil, true, 1, len(open), false)...), open...)
	whole := len(stream)
	stream = append(stream, next...)
	for cut := range len(stream) + 1 {
		got, used, err := parseHandshake(stream[:cut], []byte(key))
		switch {
		case err != nil:
			t.Fatalf("cut %d: %v", cut, err)
		case cut < whole && used != 0:
			t.Fatalf("cut %d: used %d of an incomplete handshake", cut, used)
		case cut >= whole && (used != whole || string(got) != open):
			t.Fatalf("cut %d: used %d, open %q; want %d, %q", cut, used, got, whole, open)
		}
	}
	big := wsframe.AppendHeader(nil, true, 1, 2<<20, false)
	for name, b := range map[string]string{
		"head over 8 KiB": strings.Repeat("x", 8<<10),
		"refused":         "HTTP/1.1 403 Forbidden\r\n\r\n",
		"masked open":     head + "\x81\x81abcd0",
		"binary open":     head + "\x82\x010",
		"open over 1 MiB": head + string(big),
	} {
		var e *Error
		if _, _, err := parseHandshake([]byte(b), []byte(key)); !errors.As(err, &e) || e.Code != CodeHandshake {
			t.Fatalf("%s: %v, want a HANDSHAKE error", name, err)
		}
	}
}

// TestRawWithoutPoller: when the Poller cannot take the connection (here a
// closed one), the raw transport reads the answer and then the events
// with a goroutine, and Close ends that goroutine's blocked read.
func TestRawWithoutPoller(t *testing.T) {
	p, err := netpoll.New()
	if err != nil {
		t.Skip(err)
	}
	_ = p.Close()
	ts := startServer(t, time.Second)
	ev := newEvents()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{URL: ts.URL, Transport: WebSocket, Poller: p, OnEvent: ev.on,
		Auth: map[string]any{"sessionID": "good", "userId": "u1"}})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if c.polled != nil {
		t.Fatal("a closed Poller reads the client")
	}
	ev.wait(t, "connected", 3*time.Second)
	ack, err := c.EmitWithAck(ctx, "ping")
	if err != nil || len(ack) == 0 {
		t.Fatalf("ping: %s %v", ack, err)
	}
	_ = c.Close()
	select {
	case <-c.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not end the client")
	}
}
