package sioclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradedash/realtime/handlers"
	"github.com/tradedash/realtime/internal/netpoll"
	"github.com/tradedash/realtime/internal/wsframe"
	"github.com/tradedash/realtime/ratelimit"
	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/engineio"
)

// testServer is the real server package with the real event handlers and
// memory limiters; its middleware accepts auth {sessionID: "good", userId}.
type testServer struct {
	*httptest.Server
	srv *server.Server
}

func startServer(t *testing.T, pingInterval time.Duration) *testServer {
	t.Helper()
	return startServerTB(t, pingInterval)
}

func startServerTB(t testing.TB, pingInterval time.Duration) *testServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := server.New(server.Config{
		Engine: engineio.Config{PingInterval: pingInterval, PingTimeout: 2 * pingInterval},
		Logger: log,
	})
	srv.Use(func(_ context.Context, s *server.Socket) error {
		var a struct {
			SessionID string `json:"sessionID"`
			UserID    string `json:"userId"`
		}
		_ = json.Unmarshal(s.Handshake().Auth, &a)
		if a.SessionID != "good" || a.UserID == "" {
			return &server.ConnectError{Message: "UNAUTHORIZED: Invalid session or user mismatch"}
		}
		s.SetIdentity(server.Identity{UserID: a.UserID, UserKey: a.UserID})
		return nil
	})
	subs := ratelimit.NewMemorySubscriptionLimiter(ratelimit.SubscriptionConfig{MaxSubscriptions: 50})
	t.Cleanup(func() { _ = subs.Close() })
	handlers.Register(srv, handlers.Config{
		Events:        ratelimit.NewMemoryEventLimiter(ratelimit.EventConfig{Max: 1000, Window: time.Minute}),
		Subscriptions: subs,
		Logger:        log,
	})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, srv: srv}
}

// events collects received events for a test.
type events struct {
	mu  sync.Mutex
	got []Event
	ch  chan struct{}
}

func newEvents() *events { return &events{ch: make(chan struct{}, 1024)} }

func (e *events) on(ev Event) {
	e.mu.Lock()
	e.got = append(e.got, Event{Name: ev.Name, Data: append([]byte(nil), ev.Data...), At: ev.At})
	e.mu.Unlock()
	select {
	case e.ch <- struct{}{}:
	default:
	}
}

// wait returns the first event named name, failing after d.
func (e *events) wait(t *testing.T, name string, d time.Duration) Event {
	t.Helper()
	deadline := time.After(d)
	for {
		e.mu.Lock()
		for _, ev := range e.got {
			if ev.Name == name {
				e.mu.Unlock()
				return ev
			}
		}
		e.mu.Unlock()
		select {
		case <-e.ch:
		case <-deadline:
			t.Fatalf("no %q event within %v", name, d)
		}
	}
}

// polledWS is a WebSocket client whose input a netpoll.Poller reads.
const polledWS Transport = "websocket-polled"

// rawPolling is a polling client whose GETs go through rawGetter.
const rawPolling Transport = "polling-raw"

var transports = []Transport{WebSocket, polledWS, Polling, rawPolling}

var testPoller = sync.OnceValue(func() *netpoll.Poller {
	p, err := netpoll.New()
	if err != nil {
		panic(err)
	}
	return p
})

// withTransport sets cfg's transport (and Poller for polledWS).
func withTransport(cfg Config, tr Transport) Config {
	cfg.Transport = tr
	switch tr {
	case polledWS:
		cfg.Transport, cfg.Poller = WebSocket, testPoller()
	case rawPolling:
		cfg.Transport, cfg.RawPolling = Polling, true
	}
	return cfg
}

func dial(t *testing.T, ts *testServer, tr Transport, user string, ev *events) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg := withTransport(Config{URL: ts.URL, Auth: map[string]any{"sessionID": "good", "userId": user}}, tr)
	if ev != nil {
		cfg.OnEvent = ev.on
	}
	c, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("Dial(%s): %v", tr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestConnectAndAuth(t *testing.T) {
	ts := startServer(t, time.Second)
	cases := []struct {
		name     string
		auth     any
		wantCode Code // "" means success
		wantMsg  string
	}{
		{"good", map[string]any{"sessionID": "good", "userId": "u1"}, "", ""},
		{"good, encoded by the caller", json.RawMessage(`{"sessionID":"good","userId":"u1"}`), "", ""},
		{"wrong session, encoded by the caller", json.RawMessage(`{"sessionID":"bad","userId":"u1"}`), CodeRefused, "UNAUTHORIZED: Invalid session or user mismatch"},
		{"wrong session", map[string]any{"sessionID": "bad", "userId": "u1"}, CodeRefused, "UNAUTHORIZED: Invalid session or user mismatch"},
		{"no auth", nil, CodeRefused, "UNAUTHORIZED: Invalid session or user mismatch"},
	}
	for _, tr := range transports {
		for _, tc := range cases {
			t.Run(string(tr)+"/"+tc.name, func(t *testing.T) {
				ev := newEvents()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				c, err := Dial(ctx, withTransport(Config{URL: ts.URL, Auth: tc.auth, OnEvent: ev.on}, tr))
				if tc.wantCode != "" {
					var e *Error
					if !errors.As(err, &e) || e.Code != tc.wantCode || e.Message != tc.wantMsg {
						t.Fatalf("err = %v, want %s %q", err, tc.wantCode, tc.wantMsg)
					}
					if !errors.Is(err, ErrRefused) {
						t.Fatalf("errors.Is(%v, ErrRefused) = false", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer c.Close()
				if c.SID() == "" || c.EngineSID() == "" {
					t.Fatalf("sids: %q %q", c.SID(), c.EngineSID())
				}
				got := ev.wait(t, "connected", 3*time.Second)
				var args []json.RawMessage
				if err := json.Unmarshal(got.Data, &args); err != nil || len(args) != 2 {
					t.Fatalf("connected data %s: %v", got.Data, err)
				}
				if !strings.Contains(string(args[1]), `"socketId":"`+c.SID()+`"`) {
					t.Fatalf("connected payload %s lacks socketId %s", args[1], c.SID())
				}
				if got.At.IsZero() || time.Since(got.At) > 5*time.Second {
					t.Fatalf("receive time %v", got.At)
				}
			})
		}
	}
}

func TestDialFailures(t *testing.T) {
	ts := startServer(t, time.Second)
	closed := httptest.NewServer(nil)
	closed.Close()
	cases := []struct {
		name string
		cfg  Config
		want error
	}{
		{"nothing listening ws", Config{URL: closed.URL, Transport: WebSocket}, ErrHandshake},
		{"nothing listening polling", Config{URL: closed.URL, Transport: Polling}, ErrHandshake},
		{"wrong path ws", Config{URL: ts.URL, Path: "/nope/", Transport: WebSocket}, ErrHandshake},
		{"wrong path polling", Config{URL: ts.URL, Path: "/nope/", Transport: Polling}, ErrHandshake},
		{"unknown transport", Config{URL: ts.URL, Transport: "carrier-pigeon"}, ErrHandshake},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := Dial(ctx, tc.cfg)
			if !errors.Is(err, tc.want) {
				if c != nil {
					c.Close()
				}
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEmitWithAndWithoutAck(t *testing.T) {
	ts := startServer(t, time.Second)
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			ev := newEvents()
			c := dial(t, ts, tr, "u-"+string(tr), ev)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()

			// with ack: ping answers {ok, timestamp, length}
			ack, err := c.EmitWithAck(ctx, "ping", "héllo")
			if err != nil {
				t.Fatalf("EmitWithAck: %v", err)
			}
			var res []struct {
				OK     bool   `json:"ok"`
				Length int    `json:"length"`
				TS     string `json:"timestamp"`
			}
			if err := json.Unmarshal(ack, &res); err != nil || len(res) != 1 || !res[0].OK || res[0].Length != 5 || res[0].TS == "" {
				t.Fatalf("ack %s: %v", ack, err)
			}

			// without ack: subscribe, the confirmation event comes
			if err := c.Emit("subscribe:watchlist", map[string]any{"symbols": []string{"aapl"}}); err != nil {
				t.Fatal(err)
			}
			got := ev.wait(t, "subscribed:watchlist", 3*time.Second)
			if !strings.Contains(string(got.Data), `"symbols":["AAPL"]`) {
				t.Fatalf("confirmation %s", got.Data)
			}

			// a broadcast to the room reaches the client, with its payload
			if err := ts.srv.EmitToRoom("watchlist:AAPL", "quote:update", map[string]any{"symbol": "AAPL", "seq": 7}); err != nil {
				t.Fatal(err)
			}
			q := ev.wait(t, "quote:update", 3*time.Second)
			if string(q.Data) != `["quote:update",{"seq":7,"symbol":"AAPL"}]` {
				t.Fatalf("quote %s", q.Data)
			}

			// a refused event: the ack carries ok:false
			ack, err = c.EmitWithAck(ctx, "subscribe:watchlist", map[string]any{"symbols": []string{}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(ack), `"ok":false`) || !strings.Contains(string(ack), `INVALID_PAYLOAD`) {
				t.Fatalf("refusal ack %s", ack)
			}
		})
	}
}

func TestManyAcksInFlight(t *testing.T) {
	ts := startServer(t, time.Second)
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			c := dial(t, ts, tr, "many-"+string(tr), nil)
			const n = 200
			var wg sync.WaitGroup
			wg.Add(n)
			seen := make(chan int, n)
			for i := range n {
				err := c.EmitAck(func(data []byte, at time.Time) {
					if strings.Contains(string(data), `"ok":true`) && !at.IsZero() {
						seen <- i
					}
					wg.Done()
				}, "ping", fmt.Sprint(i))
				if err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("acks did not all come within 10 s")
			}
			if len(seen) != n {
				t.Fatalf("%d good acks, want %d", len(seen), n)
			}
		})
	}
}

func TestHeartbeatKeepsConnectionAlive(t *testing.T) {
	// The server pings every 50 ms and drops clients that do not pong
	// within 100 ms; a client alive after 10 intervals answered them.
	ts := startServer(t, 50*time.Millisecond)
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			c := dial(t, ts, tr, "hb-"+string(tr), nil)
			select {
			case <-c.Done():
				t.Fatalf("connection ended: %v", c.Err())
			case <-time.After(500 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if _, err := c.EmitWithAck(ctx, "ping"); err != nil {
				t.Fatalf("after heartbeats: %v", err)
			}
		})
	}
}

func TestCloseAndServerDisconnect(t *testing.T) {
	ts := startServer(t, time.Second)
	for _, tr := range transports {
		t.Run(string(tr)+"/client close", func(t *testing.T) {
			c := dial(t, ts, tr, "close-"+string(tr), nil)
			before := ts.srv.Sockets().Len()
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if !errors.Is(c.Err(), ErrClosed) {
				t.Fatalf("Err = %v", c.Err())
			}
			if err := c.Emit("ping"); !errors.Is(err, ErrClosed) {
				t.Fatalf("Emit after Close: %v", err)
			}
			deadline := time.Now().Add(3 * time.Second)
			for ts.srv.Sockets().Len() >= before {
				if time.Now().After(deadline) {
					t.Fatalf("server still has %d sockets", ts.srv.Sockets().Len())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
		t.Run(string(tr)+"/server disconnect", func(t *testing.T) {
			c := dial(t, ts, tr, "kick-"+string(tr), nil)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			s := ts.srv.Sockets().LocalSocket(c.SID())
			if s == nil {
				t.Fatalf("server does not know socket %s", c.SID())
			}
			s.Disconnect(true)
			select {
			case <-c.Done():
			case <-ctx.Done():
				t.Fatal("client did not see the disconnect")
			}
			var e *Error
			if !errors.As(c.Err(), &e) || e.Code != CodeClosed {
				t.Fatalf("Err = %v", c.Err())
			}
			if _, err := c.EmitWithAck(ctx, "ping"); !errors.Is(err, ErrClosed) {
				t.Fatalf("EmitWithAck after disconnect: %v", err)
			}
		})
	}
}

func TestParsing(t *testing.T) {
	names := []struct {
		in   string
		want string
		ok   bool
	}{
		{`["quote:update",{}]`, "quote:update", true},
		{`["a\"b",1]`, `a"b`, true},
		{`["x"]`, "x", true},
		{`[1,2]`, "", false},
		{`{}`, "", false},
		{`["unterminated`, "", false},
	}
	for _, tc := range names {
		t.Run("name "+tc.in, func(t *testing.T) {
			got, ok := eventName([]byte(tc.in))
			if got != tc.want || ok != tc.ok {
				t.Fatalf("eventName(%s) = %q %v, want %q %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
	ids := []struct {
		in   string
		id   int64
		rest string
	}{
		{`12["x"]`, 12, `["x"]`},
		{`["x"]`, -1, `["x"]`},
		{`0[]`, 0, `[]`},
	}
	for _, tc := range ids {
		t.Run("id "+tc.in, func(t *testing.T) {
			id, rest := splitID([]byte(tc.in))
			if id != tc.id || string(rest) != tc.rest {
				t.Fatalf("splitID(%s) = %d %s", tc.in, id, rest)
			}
		})
	}
	enc := []struct {
		event string
		id    int64
		args  []any
		want  string
	}{
		{"ping", -1, nil, `42["ping"]`},
		{"ping", 3, []any{"x", 1}, `423["ping","x",1]`},
		{"a\"b", -1, []any{map[string]int{"n": 1}}, `42["a\"b",{"n":1}]`},
		{"é", -1, nil, `42["é"]`},
		{"sub", 0, []any{json.RawMessage(`{"symbols":["X"]}`)}, `420["sub",{"symbols":["X"]}]`},
	}
	for _, tc := range enc {
		t.Run("encode "+tc.want, func(t *testing.T) {
			got, err := encodeEvent(tc.event, tc.id, tc.args)
			if err != nil || string(got) != tc.want {
				t.Fatalf("encodeEvent = %s %v, want %s", got, err, tc.want)
			}
		})
	}
	if _, err := encodeEvent("x", -1, []any{make(chan int)}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("unencodable arg: %v", err)
	}

	// The client's eventName gives the same answers, packet after packet,
	// whatever the previous name was (it reuses that name's string when
	// the packet names it again without escapes).
	c := &Client{}
	seq := []string{`["quote:update",{}]`, `["quote:update",{}]`, `["quote:updates",1]`, `["quote:up"]`,
		`["quote:update"]`, `["a\"b",1]`, `["a\"b",1]`, `["a"]`, `["a\\"]`, `["a\\"]`, `["a"]`, `[1]`, `["a"`}
	for i, in := range seq {
		want, wantOK := eventName([]byte(in))
		got, ok := c.eventName([]byte(in))
		if got != want || ok != wantOK {
			t.Fatalf("packet %d %s: client eventName = %q %v, want %q %v", i, in, got, ok, want, wantOK)
		}
	}
}

// TestParseOpen reads the open packet's fields as encoding/json would
// decode them into a string and two ints, and refuses what it would refuse.
func TestParseOpen(t *testing.T) {
	good := []struct {
		in                string
		sid               string
		interval, timeout time.Duration
	}{
		{`0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, "abc", 25 * time.Second, 20 * time.Second},
		{`0{"pingTimeout":5,"sid":"a\u0062"}`, "ab", 0, 5 * time.Millisecond},
		{`0 { "sid" : "x" , "sid":"y" }`, "y", 0, 0},
	}
	for _, tc := range good {
		c := &Client{}
		if err := c.parseOpen([]byte(tc.in)); err != nil || c.sid != tc.sid || c.pingInterval != tc.interval || c.pingTimeout != tc.timeout {
			t.Fatalf("parseOpen(%s): %v, sid %q, %v, %v", tc.in, err, c.sid, c.pingInterval, c.pingTimeout)
		}
	}
	for _, in := range []string{`0`, `1{"sid":"a"}`, `0{"sid":""}`, `0{"sid":1}`, `0{}`, `0{"sid":"a"`, `0[]`,
		`0{"sid":"a","pingInterval":2.5}`, `0{"sid":"a","pingInterval":-1}`, `0{"sid":"a","pingTimeout":"5"}`} {
		c := &Client{}
		var e *Error
		if err := c.parseOpen([]byte(in)); !errors.As(err, &e) || e.Code != CodeHandshake {
			t.Fatalf("parseOpen(%s) = %v, want a HANDSHAKE error", in, err)
		}
	}
}

// TestPolledFrames feeds the polled reader's frame parser a stream cut at
// every byte: small, 16-bit and 64-bit lengths, a fragmented message, a
// pong to skip; then a masked and a close frame, which end the client.
func TestPolledFrames(t *testing.T) {
	frame := func(fin bool, op byte, payload string) []byte {
		return append(wsframe.AppendHeader(nil, fin, op, len(payload), false), payload...)
	}
	mid := `42["m","` + strings.Repeat("x", 300) + `"]`
	big := `42["b","` + strings.Repeat("y", 70000) + `"]`
	var stream []byte
	stream = append(stream, frame(true, 1, `42["a",1]`)...)
	stream = append(stream, frame(true, 0xA, "")...)
	stream = append(stream, frame(true, 1, mid)...)
	stream = append(stream, frame(false, 1, `42["f",`)...)
	stream = append(stream, frame(true, 0, `"g"]`)...)
	stream = append(stream, frame(true, 1, big)...)
	want := []string{`["a",1]`, mid[2:], `["f","g"]`, big[2:]}

	for _, step := range []int{1, 7, 4096, len(stream)} {
		ev := newEvents()
		c := newClient(Config{OnEvent: ev.on})
		r := &polledReader{c: c}
		var pending []byte
		for i := 0; i < len(stream); i += step {
			data := append(pending, stream[i:min(i+step, len(stream))]...)
			rest, err := r.frames(data, time.Now())
			if err != nil {
				t.Fatalf("step %d at %d: %v", step, i, err)
			}
			pending = append([]byte(nil), rest...)
		}
		if len(pending) != 0 {
			t.Fatalf("step %d: %d bytes left", step, len(pending))
		}
		if len(ev.got) != len(want) {
			t.Fatalf("step %d: %d events, want %d", step, len(ev.got), len(want))
		}
		for i, e := range ev.got {
			if string(e.Data) != want[i] {
				t.Fatalf("step %d: event %d = %.40s, want %.40s", step, i, e.Data, want[i])
			}
		}
	}

	r := &polledReader{c: &Client{}}
	if _, err := r.frames([]byte{0x81, 0x81, 1, 2, 3, 4, 'x'}, time.Now()); !errors.Is(err, errBadFrame) {
		t.Fatalf("masked frame: %v", err)
	}
	if _, err := r.frames(frame(true, 8, "\x03\xe8"), time.Now()); !errors.Is(err, ErrClosed) {
		t.Fatalf("close frame: %v", err)
	}
}
