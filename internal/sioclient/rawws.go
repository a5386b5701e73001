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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tradedash/realtime/internal/netpoll"
	"github.com/tradedash/realtime/internal/wsframe"
)

// rawWS is the WebSocket transport of clients read by a Poller (the load
// generator's). It holds a bare socket descriptor, not a net.Conn: the
// socket is connected with a blocking connect (on loopback the handshake
// is done within the call), the upgrade request sent, and from then on the
// Poller reads everything, the 101 answer and the open packet included.
// So a connect costs no registration with Go's netpoller, no goroutine
// parked for the answer, no deadline timers and none of the net package's
// address lookups; the client side of a connect burst is then mostly the
// kernel's work. Frames are written with one blocking send each call
// (bounded by SO_SNDTIMEO), masked as RFC 6455 has clients do (a fresh
// random key per frame).
//
// It is deliberately small: no extensions (no compression), no TLS, no
// proxy. Everything it does not expect in the server's answer fails the
// dial with CodeHandshake.
type rawWS struct {
	fd      int
	fdmu    sync.RWMutex // read-held by each read and write, write-held to close fd
	closed  bool         // fd is closed (its number may be reused); guarded by fdmu
	closing atomic.Bool
	wmu     sync.Mutex // one writer at a time
	wbuf    []byte
	rd      *polledReader // parses the input, whoever reads it
}

// errClosedFD: the transport was closed.
var errClosedFD = errors.New("sioclient: connection closed")

// handshake is the state of a dial whose 101 the reader waits for.
type handshake struct {
	key  []byte
	done chan hsResult // buffered: the reader never waits on the dialer
}

type hsResult struct {
	open []byte
	err  error
}

// dialRaw opens the WebSocket on a bare socket read by cfg.Poller (or by
// a goroutine when the Poller cannot take it) and returns the open
// packet's payload. It sets c.tr, and c.polled when the Poller reads.
func (c *Client) dialRaw(ctx context.Context) ([]byte, error) {
	cfg := c.cfg
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, &Error{Code: CodeHandshake, Message: "URL", Err: err}
	}
	if u.Scheme != "http" && u.Scheme != "ws" {
		return nil, &Error{Code: CodeHandshake, Message: "raw WebSocket needs an http:// URL, not " + u.Scheme}
	}
	sa, family, err := sockaddrOf(ctx, u)
	if err != nil {
		return nil, &Error{Code: CodeHandshake, Message: "dial", Err: err}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &Error{Code: CodeHandshake, Message: "dial", Err: err}
	}
	t := &rawWS{fd: fd}
	fail := func(msg string, err error) ([]byte, error) {
		_ = t.close()
		return nil, &Error{Code: CodeHandshake, Message: msg, Err: err}
	}
	// No Nagle, as Go's own TCP connections: an event sent while an
	// earlier one is unacknowledged goes out at once.
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
		return fail("dial", err)
	}
	// SO_SNDTIMEO bounds the connect and, later, each blocked send.
	if dl, ok := ctx.Deadline(); ok {
		tv := syscall.NsecToTimeval(max(time.Until(dl), time.Millisecond).Nanoseconds())
		if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv); err != nil {
			return fail("dial", err)
		}
	}
	if err := connect(fd, sa); err != nil {
		return fail("dial", err)
	}

	var key [16]byte
	binary.LittleEndian.PutUint64(key[:], rand.Uint64())
	binary.LittleEndian.PutUint64(key[8:], rand.Uint64())
	keyB64 := make([]byte, 24)
	base64.StdEncoding.Encode(keyB64, key[:])
	req := make([]byte, 0, 256)
	req = append(req, "GET "...)
	req = append(req, strings.TrimSuffix(u.Path, "/")+cfg.Path...)
	req = append(req, "?EIO=4&transport=websocket HTTP/1.1\r\nHost: "...)
	req = append(req, u.Host...)
	req = append(req, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	req = append(req, keyB64...)
	req = append(req, "\r\nSec-WebSocket-Version: 13\r\n\r\n"...)
	if err := t.send(req); err != nil {
		return fail("send the upgrade request", err)
	}

	c.tr = t
	hs := &handshake{key: keyB64, done: make(chan hsResult, 1)}
	r := &polledReader{c: c, t: t, p: cfg.Poller, fd: int32(fd), hs: hs}
	t.rd = r
	c.polled = r // before the Poller can call r (AddFDEdge's lock orders it)
	if cfg.Poller == nil || cfg.Poller.AddFDEdge(fd, r) != nil {
		c.polled = nil
		// No Poller: read the answer here; c.run reads the rest.
		stop := context.AfterFunc(ctx, func() { _ = t.close() })
		buf := make([]byte, 4096)
		for r.hs != nil {
			n, err := t.recv(buf, 0)
			r.input(buf[:n], err)
		}
		stop()
	}
	select {
	case res := <-hs.done:
		if res.err != nil {
			c.dropPolled()
			_ = t.close()
			return nil, res.err
		}
		return res.open, nil
	case <-ctx.Done():
		c.dropPolled()
		_ = t.close()
		return nil, &Error{Code: CodeHandshake, Message: "read the upgrade answer", Err: ctx.Err()}
	}
}

// sockaddrOf resolves the URL's host (an IP literal needs no lookup).
func sockaddrOf(ctx context.Context, u *url.URL) (syscall.Sockaddr, int, error) {
	port := 80
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return nil, 0, errors.New("bad port " + strconv.Quote(p))
		}
		port = n
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil {
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, u.Hostname())
		if err != nil {
			return nil, 0, err
		}
		for _, a := range addrs {
			if ip == nil || (ip.To4() == nil && a.IP.To4() != nil) {
				ip = a.IP // IPv4 first, as the loopback server listens on it
			}
		}
		if ip == nil {
			return nil, 0, errors.New("no address for " + u.Hostname())
		}
	}
	if ip4 := ip.To4(); ip4 != nil {
		sa := &syscall.SockaddrInet4{Port: port}
		copy(sa.Addr[:], ip4)
		return sa, syscall.AF_INET, nil
	}
	sa := &syscall.SockaddrInet6{Port: port}
	copy(sa.Addr[:], ip.To16())
	return sa, syscall.AF_INET6, nil
}

// connect connects the blocking socket fd. A signal (Go's preemption)
// interrupts a connect bounded by SO_SNDTIMEO; calling connect again then
// waits again for the same connection (EALREADY while it is pending,
// EISCONN once it is made). A timeout leaves it pending: EINPROGRESS.
func connect(fd int, sa syscall.Sockaddr) error {
	err := syscall.Connect(fd, sa)
	for err == syscall.EINTR || err == syscall.EALREADY {
		err = syscall.Connect(fd, sa)
	}
	switch err {
	case nil, syscall.EISCONN:
		return nil
	case syscall.EINPROGRESS:
		return errors.New("connect timed out")
	}
	return err
}

// parseHandshake looks for the end of the 101 answer and the open packet's
// frame in b (what was read so far). It returns the open packet's payload
// (within b) and how much of b they took, or used == 0 while incomplete.
func parseHandshake(b, key []byte) (open []byte, used int, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) >= 8<<10 {
			return nil, 0, &Error{Code: CodeHandshake, Message: "upgrade answer header over 8 KiB"}
		}
		return nil, 0, nil
	}
	if err := checkUpgrade(b[:end+2], key); err != nil {
		return nil, 0, &Error{Code: CodeHandshake, Message: "upgrade refused", Err: err}
	}
	f := b[end+4:]
	hdr, n, ok := wsframe.PayloadLength(f)
	if !ok {
		return nil, 0, nil
	}
	if n > 1<<20 {
		return nil, 0, &Error{Code: CodeHandshake, Message: "open packet", Err: errBadFrame}
	}
	if uint64(len(f)-hdr) < n {
		return nil, 0, nil
	}
	if f[0] != 0x81 || f[1]&0x80 != 0 {
		return nil, 0, &Error{Code: CodeHandshake, Message: "open packet", Err: errBadFrame}
	}
	return f[hdr : hdr+int(n)], end + 4 + hdr + int(n), nil
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

// write sends each packet as a masked text frame, all in one send.
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
	err := t.send(b)
	if cap(b) <= 4<<10 {
		t.wbuf = b
	}
	return err
}

// send writes all of b (MSG_NOSIGNAL: a peer gone is an EPIPE, no signal).
func (t *rawWS) send(b []byte) error {
	t.fdmu.RLock()
	defer t.fdmu.RUnlock()
	if t.closed {
		return errClosedFD
	}
	for len(b) > 0 {
		n, err := netpoll.Sendto(t.fd, b, syscall.MSG_NOSIGNAL)
		switch {
		case err == syscall.EAGAIN:
			return errors.New("send timed out")
		case err != nil:
			return err
		}
		b = b[n:]
	}
	return nil
}

// recv reads into b: n > 0 bytes, or 0 and nil at the end of the stream,
// or syscall.EAGAIN (with syscall.MSG_DONTWAIT in flags) when nothing is
// there.
func (t *rawWS) recv(b []byte, flags int) (int, error) {
	t.fdmu.RLock()
	defer t.fdmu.RUnlock()
	if t.closed {
		return 0, errClosedFD
	}
	return netpoll.Recvfrom(t.fd, b, flags)
}

// close shuts the socket down (which wakes a read or a send blocked on it)
// and closes it once they have returned. Callers take it off its Poller
// first.
func (t *rawWS) close() error {
	if !t.closing.CompareAndSwap(false, true) {
		return nil
	}
	_ = syscall.Shutdown(t.fd, syscall.SHUT_RDWR)
	t.fdmu.Lock()
	defer t.fdmu.Unlock()
	t.closed = true
	return syscall.Close(t.fd)
}

// readLoop reads with a goroutine: used only when the Poller could not
// take the connection.
func (t *rawWS) readLoop(c *Client) error {
	buf := make([]byte, 16<<10)
	if err := t.rd.feed(nil); err != nil { // what came with the open packet
		return err
	}
	for {
		n, err := t.recv(buf, 0)
		if err == nil && n == 0 {
			err = errEOF
		}
		if err != nil {
			return err
		}
		if err := t.rd.feed(buf[:n]); err != nil {
			return err
		}
	}
}
