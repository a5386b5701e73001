package sioclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// pollingTransport is HTTP long-polling: the reader goroutine keeps one GET
// open; writes are POSTs, one at a time (Engine.IO refuses overlapping ones).
type pollingTransport struct {
	cfg    Config
	hc     *http.Client
	base   string // endpoint without sid
	sid    string
	wmu    sync.Mutex
	buf    []byte
	ctx    context.Context // cancelled by close: ends the pending GET
	cancel context.CancelFunc
	n      atomic.Uint64 // cache-buster
	raw    *rawGetter    // Config.RawPolling: the GETs without net/http
}

const recordSep = 0x1e

func dialPolling(ctx context.Context, cfg Config) (*pollingTransport, []byte, error) {
	base, err := endpoint(cfg, "http", url.Values{"EIO": {"4"}, "transport": {"polling"}})
	if err != nil {
		return nil, nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	t := &pollingTransport{cfg: cfg, hc: hc, base: base}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	if cfg.RawPolling {
		if t.raw, err = newRawGetter(base); err != nil {
			t.cancel()
			return nil, nil, &Error{Code: CodeHandshake, Message: "URL", Err: err}
		}
	}
	body, err := t.get(ctx, base, nil)
	if err != nil {
		t.cancel()
		return nil, nil, &Error{Code: CodeHandshake, Message: "open", Err: err}
	}
	if i := bytes.IndexByte(body, recordSep); i >= 0 {
		body = body[:i] // only the open packet is expected here
	}
	return t, bytes.Clone(body), nil
}

func (t *pollingTransport) url() string {
	return t.base + "&sid=" + url.QueryEscape(t.sid) + "&t=" + strconv.FormatUint(t.n.Add(1), 36)
}

// get performs a GET and returns the body in t.buf (reused).
func (t *pollingTransport) get(ctx context.Context, u string, _ []byte) ([]byte, error) {
	if t.raw != nil {
		return t.rawGet(ctx, u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	t.buf, err = readAll(resp.Body, t.buf[:0])
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET: HTTP %d: %.200s", resp.StatusCode, t.buf)
	}
	return t.buf, nil
}

func (t *pollingTransport) write(pkts ...[]byte) error {
	var body []byte
	if len(pkts) == 1 {
		body = pkts[0]
	} else {
		body = bytes.Join(pkts, []byte{recordSep})
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := t.hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST: HTTP %d", resp.StatusCode)
	}
	return nil
}

// rawGet is get through t.raw; close ends a pending one by closing its
// connection.
func (t *pollingTransport) rawGet(ctx context.Context, u string) ([]byte, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	if t.ctx.Err() != nil {
		return nil, t.ctx.Err()
	}
	g := t.raw
	stop := context.AfterFunc(ctx, g.abort)
	defer stop()
	body, err := g.get(u, deadline, t.buf)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	t.buf = body
	return body, nil
}

func (t *pollingTransport) close() error {
	t.cancel()
	return nil
}

// readLoop polls until the session ends. Each poll is bounded by
// pingInterval+pingTimeout (the server answers a poll at least every ping).
func (t *pollingTransport) readLoop(c *Client) error {
	alive := c.pingInterval + c.pingTimeout
	if alive <= 0 {
		alive = 85 * time.Second
	}
	for {
		ctx, cancel := context.WithTimeout(t.ctx, alive)
		body, err := t.get(ctx, t.url(), nil)
		cancel()
		if err != nil {
			return err
		}
		at := time.Now()
		for len(body) > 0 {
			var pkt []byte
			if i := bytes.IndexByte(body, recordSep); i >= 0 {
				pkt, body = body[:i], body[i+1:]
			} else {
				pkt, body = body, nil
			}
			if len(pkt) > 0 && pkt[0] == 'b' {
				continue // base64 binary: not supported
			}
			if err := c.handle(pkt, at); err != nil {
				return err
			}
		}
	}
}
