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
				} else {
					_, _ = c.Write([]byte(answer))
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = Dial(ctx, Config{URL: "http://" + ln.Addr().String(), Transport: WebSocket, Poller: p})
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeHandshake {
				t.Fatalf("Dial: %v, want a HANDSHAKE error", err)
			}
		})
	}
}

func acceptOf(key string) string { return string(wsframe.AppendAccept(nil, key)) }
