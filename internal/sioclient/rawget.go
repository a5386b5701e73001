package sioclient

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rawGetter sends a polling client's GETs on a keep-alive connection of its
// own, with a prepared request and a minimal HTTP/1.1 response reader
// (status, Content-Length, Connection: close), for a load generator that
// must spend little per poll: net/http's client costs two goroutines per
// connection, channels and header maps per request. http:// only; a
// response without Content-Length (chunked, compressed) is an error.
type rawGetter struct {
	origin string        // "http://host[:port]", taken off the URLs asked for
	host   string        // host:port
	hdr    []byte        // " HTTP/1.1\r\nHost: ...\r\n\r\n"
	conn   net.Conn      // used by get only (one at a time)
	br     *bufio.Reader // conn's
	req    []byte

	mu   sync.Mutex
	live net.Conn // conn, for abort from another goroutine
}

func newRawGetter(base string) (*rawGetter, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("raw polling needs an http:// URL, not %s", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	return &rawGetter{origin: "http://" + u.Host, host: host, hdr: []byte(" HTTP/1.1\r\nHost: " + u.Host + "\r\n\r\n")}, nil
}

// get sends GET u (a URL of the server, or its path and query) and
// returns the body, in buf's array when it fits. A connection the server
// closed between requests is redialled once.
func (g *rawGetter) get(u string, deadline time.Time, buf []byte) ([]byte, error) {
	target := strings.TrimPrefix(u, g.origin)
	for attempt := 0; ; attempt++ {
		fresh := g.conn == nil
		if fresh {
			d := net.Dialer{KeepAlive: -1, Deadline: deadline}
			c, err := d.Dial("tcp", g.host)
			if err != nil {
				return nil, err
			}
			g.conn, g.br = c, bufio.NewReaderSize(c, 2048)
			g.mu.Lock()
			g.live = c
			g.mu.Unlock()
		}
		_ = g.conn.SetDeadline(deadline)
		g.req = append(append(append(g.req[:0], "GET "...), target...), g.hdr...)
		body, started, err := g.roundTrip(buf)
		if err == nil {
			return body, nil
		}
		g.close()
		if started || fresh || attempt > 0 {
			return nil, err
		}
		// Nothing came back on a reused connection: the server had closed
		// it (Node's keep-alive timeout); ask again on a new one.
	}
}

// roundTrip writes the request and reads the response; started reports
// whether any of the response came.
func (g *rawGetter) roundTrip(buf []byte) (body []byte, started bool, err error) {
	if _, err := g.conn.Write(g.req); err != nil {
		return nil, false, err
	}
	line, err := g.br.ReadSlice('\n')
	if err != nil {
		return nil, len(line) > 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return nil, true, fmt.Errorf("GET: bad status line %q", line)
	}
	status, _ := strconv.Atoi(string(line[9:12]))
	n, closing := -1, false
	for {
		h, err := g.br.ReadSlice('\n')
		if err != nil {
			return nil, true, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, _ := bytes.Cut(h, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if n, err = strconv.Atoi(string(value)); err != nil || n < 0 {
				return nil, true, fmt.Errorf("GET: bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		case bytes.EqualFold(name, []byte("Transfer-Encoding")), bytes.EqualFold(name, []byte("Content-Encoding")):
			return nil, true, errors.New("GET: chunked or compressed response (raw polling reads Content-Length bodies only)")
		}
	}
	if n < 0 {
		return nil, true, errors.New("GET: response without Content-Length")
	}
	body = slices.Grow(buf[:0], n)[:n]
	if _, err := io.ReadFull(g.br, body); err != nil {
		return nil, true, err
	}
	if closing {
		g.close()
	}
	if status != 200 {
		return nil, true, fmt.Errorf("GET: HTTP %d: %.200s", status, body)
	}
	return body, true, nil
}

func (g *rawGetter) close() {
	if g.conn != nil {
		g.mu.Lock()
		g.live = nil
		g.mu.Unlock()
		_ = g.conn.Close()
		g.conn, g.br = nil, nil
	}
}

// abort closes the connection of a get in progress (from any goroutine):
// it fails, and the next get dials again.
func (g *rawGetter) abort() {
	g.mu.Lock()
	if g.live != nil {
		_ = g.live.Close()
	}
	g.mu.Unlock()
}
