package engineio

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tradedash/realtime/internal/wsframe"
)

// A new WebSocket session is the one request its connection ever makes
// over HTTP, and net/http's per-connection machinery (a 4 KiB reader and a
// 4 KiB writer that a hijacked connection never gives back, the request's
// maps, contexts and deadlines) cost more than the rest of its handshake.
// Listener reads the first request of each connection itself: a plain
// WebSocket handshake for a new session on this server's path is answered
// here; every other connection goes to net/http with the bytes read put
// back in front, so net/http sees exactly what the client sent and answers
// it as before (errors included).

// maxHead bounds the request head read here; a longer head goes to
// net/http.
const maxHead = 4096

var headPool = sync.Pool{New: func() any { b := make([]byte, maxHead); return &b }}

// Listener wraps ln, a plain TCP listener (TLS, if any, ends in front of
// the server), for an http.Server serving this engine at path: new
// WebSocket sessions are handshaken without net/http (see above).
// headerTimeout bounds the wait for the first request head (like
// http.Server.ReadHeaderTimeout; zero means 10 s).
func (s *Server) Listener(ln net.Listener, path string, headerTimeout time.Duration) net.Listener {
	if headerTimeout <= 0 {
		headerTimeout = 10 * time.Second
	}
	l := &fastListener{Listener: ln, srv: s, path: path, timeout: headerTimeout,
		accepted: make(chan accepted), done: make(chan struct{})}
	go l.run()
	return l
}

type accepted struct {
	c   net.Conn
	err error
}

type fastListener struct {
	net.Listener
	srv      *Server
	path     string
	timeout  time.Duration
	accepted chan accepted // connections for net/http
	done     chan struct{}
	once     sync.Once
}

func (l *fastListener) run() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			// As net/http's Serve: a temporary error (out of descriptors,
			// an aborted connection) is returned, and accepting goes on
			// when net/http, after its back-off, asks again.
			te, ok := err.(interface{ Temporary() bool })
			temporary := ok && te.Temporary()
			select {
			case l.accepted <- accepted{err: err}:
			case <-l.done:
				return
			}
			if !temporary {
				return
			}
			continue
		}
		go l.sniff(c)
	}
}

// Accept returns the next connection for net/http.
func (l *fastListener) Accept() (net.Conn, error) {
	select {
	case a := <-l.accepted:
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *fastListener) Close() error {
	err := net.ErrClosed
	l.once.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

// sniff reads the connection's first request head and serves it here or
// hands the connection to net/http.
func (l *fastListener) sniff(c net.Conn) {
	bp := headPool.Get().(*[]byte)
	buf := *bp
	defer headPool.Put(bp)
	_ = c.SetReadDeadline(time.Now().Add(l.timeout))
	n, end := 0, -1
	for end < 0 && n < len(buf) {
		m, err := c.Read(buf[n:])
		if err != nil {
			if n == 0 {
				// Nothing was asked: net/http would close it silently too.
				_ = c.Close()
				return
			}
			break
		}
		from := max(0, n-3)
		n += m
		if i := bytes.Index(buf[from:n], []byte("\r\n\r\n")); i >= 0 {
			end = from + i + 4
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	if end == n && l.srv.serveFast(c, buf[:n], l.path) {
		return
	}
	l.handOn(&replayConn{Conn: c, pending: bytes.Clone(buf[:n])})
}

func (l *fastListener) handOn(c net.Conn) {
	select {
	case l.accepted <- accepted{c: c}:
	case <-l.done:
		_ = c.Close()
	}
}

// replayConn gives net/http the bytes read before it, then the socket.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		if len(c.pending) == 0 {
			c.pending = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// SyscallConn gives the socket itself (inline writes and the Poller of a
// WebSocket upgraded from polling).
func (c *replayConn) SyscallConn() (syscall.RawConn, error) { return syscallConnOf(c.Conn) }

// CloseWrite lets net/http end a connection with a FIN after an error
// answer, so that the client reads the answer before any reset.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

func syscallConnOf(c net.Conn) (syscall.RawConn, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

// fastRequest is what serveFast needs of a request head.
type fastRequest struct {
	rawQuery   string
	host       int // Host lines
	upgrade    string
	connection string
	key        string
	version    string
	origin     string
	extensions string
	pragma     string
	cache      bool // a Cache-Control line
	header     strings.Builder
}

// serveFast handshakes a new WebSocket session from head, the whole first
// request (nothing after it), and reports whether it did; when it reports
// false nothing was written and the connection is untouched.
func (s *Server) serveFast(c net.Conn, head []byte, path string) bool {
	if s.cfg.DisableWebSocket {
		return false
	}
	var r fastRequest
	if !r.parse(head, path) {
		return false
	}
	// The checks of ServeHTTP, handshake and gorilla's Upgrade, for a
	// request that passes them all; any other goes to net/http.
	if r.host != 1 || r.version != "13" || !tokenListHas(r.upgrade, "websocket") ||
		!tokenListHas(r.connection, "upgrade") || !s.cfg.CORS.allowed(r.origin) {
		return false
	}
	if k, err := base64.StdEncoding.DecodeString(r.key); err != nil || len(k) != 16 {
		return false
	}
	q, err := url.ParseQuery(r.rawQuery)
	if err != nil || q.Get("EIO") != "4" || q.Get("transport") != "websocket" || q.Has("sid") {
		return false
	}
	if r.pragma == "no-cache" && !r.cache {
		// net/http's fixPragmaCacheControl: handlers see the same header.
		r.header.WriteString("Cache-Control\x00no-cache\x00")
	}
	ss := newSessionFrom(s, generateID(), r.header.String(), r.rawQuery, c.RemoteAddr().String(), false)
	compress := s.upgrader.EnableCompression && deflateOffered(r.extensions)
	if !s.register(ss) {
		_ = c.Close()
		return true
	}
	// gorilla's Conn is made only if the session ever needs it (a frame to
	// deflate): most never do, and it would be a kilobyte per connection.
	ss.openWebSocket(newLazyWSConn(c, compress), upgradeAnswer(r.key, compress))
	return true
}

// upgradeAnswer is the 101 answer, byte for byte as gorilla's upgrader
// writes it for the same request.
func upgradeAnswer(key string, compress bool) []byte {
	b := make([]byte, 0, 256)
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = wsframe.AppendAccept(b, key)
	b = append(b, "\r\n"...)
	if compress {
		b = append(b, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"...)
	}
	return append(b, "\r\n"...)
}

// deflateOffered reports whether gorilla's upgrader finds a
// permessage-deflate offer in the Sec-WebSocket-Extensions value v: the
// same reading of the extension list (RFC 6455 9.1), including where it
// gives up on a malformed one (a fuzz test holds it to gorilla's).
func deflateOffered(v string) bool {
	for {
		var name string
		name, v = nextToken(skipOWS(v))
		if name == "" {
			return false
		}
		for {
			v = skipOWS(v)
			if !strings.HasPrefix(v, ";") {
				break
			}
			var param string
			param, v = nextToken(skipOWS(v[1:]))
			if param == "" {
				return false
			}
			v = skipOWS(v)
			if strings.HasPrefix(v, "=") {
				v = skipOWS(skipTokenOrQuoted(skipOWS(v[1:])))
			}
			if v != "" && v[0] != ',' && v[0] != ';' {
				return false
			}
		}
		if v != "" && v[0] != ',' {
			return false
		}
		if name == "permessage-deflate" {
			return true
		}
		if v == "" {
			return false
		}
		v = v[1:]
	}
}

func skipOWS(s string) string { return strings.TrimLeft(s, " \t") }

// nextToken splits s after its leading token characters.
func nextToken(s string) (string, string) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// skipTokenOrQuoted returns what follows a token or a quoted string at the
// start of s ("" for a quoted string that does not end).
func skipTokenOrQuoted(s string) string {
	if !strings.HasPrefix(s, `"`) {
		_, rest := nextToken(s)
		return rest
	}
	escaped := false
	for i := 1; i < len(s); i++ {
		switch {
		case escaped:
			escaped = false
		case s[i] == '\\':
			escaped = true
		case s[i] == '"':
			return s[i+1:]
		}
	}
	return ""
}

func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) < 0
}

// parse reads the request line and header lines of head. It accepts only
// "GET <path>[?query] HTTP/1.1" and well-formed header lines; anything
// else is left to net/http.
func (r *fastRequest) parse(head []byte, path string) bool {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	target, ok := bytes.CutPrefix(line, []byte("GET "))
	if !ok {
		return false
	}
	target, ok = bytes.CutSuffix(target, []byte(" HTTP/1.1"))
	if !ok {
		return false
	}
	p, query, hasQuery := bytes.Cut(target, []byte("?"))
	if string(p) != path || !hasQuery || !printable(query) {
		return false
	}
	r.rawQuery = string(query)
	r.header.Grow(len(rest))
	for {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(line) == 0 {
			return len(rest) == 0
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !isToken(name) || !fieldValue(value) {
			return false
		}
		value = bytes.Trim(value, " \t")
		key := textproto.CanonicalMIMEHeaderKey(string(name))
		v := string(value)
		switch key {
		case "Host":
			if !validHost(value) {
				return false
			}
			// net/http takes Host out of the header (Request.Host).
			r.host++
			continue
		case "Cache-Control":
			r.cache = true
		case "Content-Length", "Transfer-Encoding", "Expect":
			return false
		}
		if dst := r.single(key); dst != nil && !setOnce(dst, v) {
			return false
		}
		r.header.WriteString(key)
		r.header.WriteByte(0)
		r.header.WriteString(v)
		r.header.WriteByte(0)
	}
}

// single returns the field of a header the fast path reads, which may come
// once only; nil for the others.
func (r *fastRequest) single(key string) *string {
	switch key {
	case "Upgrade":
		return &r.upgrade
	case "Connection":
		return &r.connection
	case "Sec-Websocket-Key":
		return &r.key
	case "Sec-Websocket-Version":
		return &r.version
	case "Sec-Websocket-Extensions":
		return &r.extensions
	case "Origin":
		return &r.origin
	case "Pragma":
		return &r.pragma
	}
	return nil
}

// setOnce sets *dst to v unless it was set (a repeated header line is left
// to net/http).
func setOnce(dst *string, v string) bool {
	if *dst != "" || v == "" {
		return false
	}
	*dst = v
	return true
}

// isToken reports whether b is an HTTP token (a header field name).
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

// validHost accepts host names, IPv4 and bracketed IPv6 addresses with a
// port: a subset of what net/http accepts.
func validHost(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-_:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// fieldValue reports whether b holds no control character but tab.
func fieldValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// printable reports whether b is visible ASCII only (a request target).
func printable(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// tokenListHas reports whether the comma-separated token list v holds
// token (ASCII case-insensitively), read as gorilla's upgrader reads it:
// up to the first malformed element.
func tokenListHas(v, token string) bool {
	for {
		var t string
		t, v = nextToken(skipOWS(v))
		if t == "" {
			return false
		}
		v = skipOWS(v)
		if v != "" && v[0] != ',' {
			return false
		}
		if strings.EqualFold(t, token) {
			return true
		}
		if v == "" {
			return false
		}
		v = v[1:]
	}
}

// gorillaWriter is the http.ResponseWriter with which a session's gorilla
// Conn is made after the fact (see wsConn.gorilla): it hijacks to hc,
// which holds the 101 gorilla writes (already answered) to be dropped.
type gorillaWriter struct {
	h  http.Header
	hc *heldConn
}

func (w *gorillaWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}

func (w *gorillaWriter) Write([]byte) (int, error) {
	return 0, errors.New("engineio: no response here")
}

func (w *gorillaWriter) WriteHeader(int) {}

func (w *gorillaWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.hc, bufio.NewReadWriter(bufio.NewReaderSize(w.hc.Conn, 16), bufio.NewWriterSize(w.hc, 16)), nil
}
