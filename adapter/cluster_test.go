package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tradedash/realtime/internal/testenv"
	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

// node is one Go instance of a test cluster.
type node struct {
	srv   *server.Server
	ts    *httptest.Server
	red   *Redis
	nsp   *server.Namespace
	close func()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// authRooms joins the rooms a client names in its handshake auth, then
// tells it "joined" (dialClient waits for it: the connection handler runs
// after the client got its CONNECT).
func authRooms(s *server.Socket) {
	var auth struct{ Rooms []string }
	if len(s.Handshake().Auth) > 0 {
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
	}
	if len(auth.Rooms) > 0 {
		s.Join(auth.Rooms...)
	}
	_ = s.Emit("joined")
}

func newNode(t *testing.T, addr string, cfg Config) *node {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: 1, DialTimeout: 500 * time.Millisecond})
	cfg.Client = client
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	red, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Adapter: red.Factory(), ShutdownGrace: time.Millisecond, Logger: quietLogger()})
	srv.Sockets().OnConnection(authRooms)
	ts := httptest.NewServer(srv.Handler())
	n := &node{srv: srv, ts: ts, red: red, nsp: srv.Sockets()}
	var once atomic.Bool
	n.close = func() {
		if !once.CompareAndSwap(false, true) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
		_ = red.Close()
		_ = client.Close()
	}
	t.Cleanup(n.close)
	return n
}

// modes are the adapter's two wire formats.
var modes = []struct {
	name string
	cfg  Config
}{
	{"classic", Config{}},
	{"sharded", Config{Sharded: true}},
}

func forModes(t *testing.T, test func(*testing.T, Config)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { test(t, m.cfg) })
	}
}

// waitRoomChannels waits, in sharded mode, until Redis counts for every
// room channel as many subscribers as nodes subscribe to it (the
// subscriptions follow the rooms asynchronously).
func waitRoomChannels(t *testing.T, nodes ...*node) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		want := map[string]int64{}
		var client redis.UniversalClient
		for _, nd := range nodes {
			a, ok := nd.nsp.Adapter().(*shardedNS)
			if !ok {
				return
			}
			client = nd.red.cfg.Client
			for _, room := range a.MemoryAdapter.RoomNames("") {
				if a.r.cfg.SubscriptionMode == SubscriptionDynamicPrivate || a.nsp.LocalSocket(room) == nil {
					want[a.roomChannel(room)]++
				}
			}
		}
		if len(want) == 0 || client == nil {
			return
		}
		chans := make([]string, 0, len(want))
		for ch := range want {
			chans = append(chans, ch)
		}
		got, err := client.PubSubShardNumSub(context.Background(), chans...).Result()
		ok := err == nil
		for ch, n := range want {
			ok = ok && got[ch] == n
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("room channels: got %v (%v), want %v", got, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitServers waits until every node sees n servers.
func waitServers(t *testing.T, n int, nodes ...*node) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, nd := range nodes {
		for {
			c, err := nd.nsp.Adapter().ServerCount(context.Background())
			if err == nil && c == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("server count %d (%v), want %d", c, err, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func newCluster(t *testing.T, cfg Config) (*testenv.Redis, *node, *node) {
	t.Helper()
	rs := testenv.StartRedis(t)
	a := newNode(t, rs.Addr, cfg)
	b := newNode(t, rs.Addr, cfg)
	waitServers(t, 2, a, b)
	return rs, a, b
}

func TestBroadcastAcrossInstances(t *testing.T) { forModes(t, testBroadcastAcrossInstances) }

func testBroadcastAcrossInstances(t *testing.T, cfg Config) {
	_, a, b := newCluster(t, cfg)
	inRoom := dialClient(t, a.ts, `{"rooms":["r1","vip"]}`)
	other := dialClient(t, a.ts, `{"rooms":["r2"]}`)
	onB := dialClient(t, b.ts, `{"rooms":["r1"]}`)
	waitRoomChannels(t, a, b)

	tests := []struct {
		name     string
		emit     func(event string) error
		inRoom   bool // inRoom (on A, r1 + vip) gets it
		other    bool // other (on A, r2) gets it
		onB      bool // onB (on B, r1) gets it
		wantText string
	}{
		{"to all", func(e string) error { return b.nsp.Emit(e, "all") }, true, true, true, `42["to all","all"]`},
		{"to one room", func(e string) error { return b.nsp.To("r1").Emit(e, 1) }, true, false, true, `42["to one room",1]`},
		{"to two rooms", func(e string) error { return b.nsp.To("r1", "r2").Emit(e, true) }, true, true, true, `42["to two rooms",true]`},
		{"except", func(e string) error { return b.nsp.Except("vip").Emit(e, nil) }, false, true, true, `42["except",null]`},
		{"room except", func(e string) error { return b.nsp.To("r1", "r2").Except("vip").Emit(e) }, false, true, true, `42["room except"]`},
		{"socket id room", func(e string) error { return b.nsp.To(inRoom.SID).Emit(e, "you") }, true, false, false, `42["socket id room","you"]`},
		{"local", func(e string) error { return b.nsp.To("r1").Local().Emit(e) }, false, false, true, `42["local"]`},
		{"ordered object", func(e string) error {
			return b.nsp.To("r1").Emit(e, socketio.Map{Keys: []string{"z", "a", "n"}, Values: []any{1, 2.5, []any{"x", nil}}})
		}, true, false, true, `42["ordered object",{"z":1,"a":2.5,"n":["x",null]}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.emit(tc.name); err != nil {
				t.Fatal(err)
			}
			if err := b.nsp.Emit("sentinel"); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				cl   *rawClient
				want bool
			}{{inRoom, tc.inRoom}, {other, tc.other}, {onB, tc.onB}} {
				got := c.cl.eventsUntil("sentinel")
				if c.want != slices.Contains(got, tc.name) {
					t.Errorf("client %s got %v, want %q: %v", c.cl.SID, got, tc.name, c.want)
				}
			}
		})
	}

	t.Run("binary", func(t *testing.T) {
		if err := b.nsp.To("r1").Emit("bin", []byte{1, 2, 3}, map[string]any{"x": []byte{}}); err != nil {
			t.Fatal(err)
		}
		p := inRoom.mustEvent("bin")
		if want := `452-["bin",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]`; p.Text != want {
			t.Errorf("text %s, want %s", p.Text, want)
		}
		if len(p.Attachments) != 2 || string(p.Attachments[0]) != "\x01\x02\x03" || len(p.Attachments[1]) != 0 {
			t.Errorf("attachments %q", p.Attachments)
		}
	})
	t.Run("text intact", func(t *testing.T) {
		_ = b.nsp.Emit("to all", "é\u2028<&>")
		p := other.mustEvent("to all")
		if want := "42[\"to all\",\"é\u2028<&>\"]"; p.Text != want {
			t.Errorf("text %s, want %s", p.Text, want)
		}
	})
}

func TestBroadcastWithAckAcrossInstances(t *testing.T) {
	forModes(t, testBroadcastWithAckAcrossInstances)
}

func testBroadcastWithAckAcrossInstances(t *testing.T, cfg Config) {
	_, a, b := newCluster(t, cfg)
	c1 := dialClient(t, a.ts, `{"rooms":["q"]}`)
	c2 := dialClient(t, a.ts, `{"rooms":["q"]}`)
	c3 := dialClient(t, b.ts, `{"rooms":["q"]}`)
	c1.setAck(`["one",{"n":1}]`)
	c2.setAck(`["two"]`)
	c3.setAck(`["three"]`)

	answers, err := b.nsp.To("q").Timeout(3*time.Second).EmitWithAck(context.Background(), "question", 42)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ans := range answers {
		got = append(got, string(ans.Raw[0]))
	}
	slices.Sort(got)
	if want := []string{`"one"`, `"three"`, `"two"`}; !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}

	t.Run("a silent client times out", func(t *testing.T) {
		c1.setAck("")
		start := time.Now()
		answers, err := b.nsp.To("q").Timeout(500*time.Millisecond).EmitWithAck(context.Background(), "question")
		if !errors.Is(err, server.ErrAckTimeout) || len(answers) != 2 {
			t.Errorf("answers %d err %v, want 2 and ErrAckTimeout", len(answers), err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
}

func TestFetchSocketsAcrossInstances(t *testing.T) { forModes(t, testFetchSocketsAcrossInstances) }

func testFetchSocketsAcrossInstances(t *testing.T, cfg Config) {
	_, a, b := newCluster(t, cfg)
	ca := dialClient(t, a.ts, `{"rooms":["f"]}`)
	cb := dialClient(t, b.ts, `{"rooms":["f","g"]}`)
	_ = dialClient(t, a.ts, `{}`)

	socks, err := b.nsp.To("f").FetchSockets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]server.SocketInfo{}
	for _, s := range socks {
		ids[s.ID] = s
	}
	if len(socks) != 2 || ids[ca.SID].ID == "" || ids[cb.SID].ID == "" {
		t.Fatalf("fetched %+v, want %s and %s", socks, ca.SID, cb.SID)
	}
	remote := ids[ca.SID]
	if !slices.Contains(remote.Rooms, "f") || !slices.Contains(remote.Rooms, ca.SID) {
		t.Errorf("remote rooms %v", remote.Rooms)
	}
	if remote.Handshake.Query.Get("EIO") != "4" || remote.Handshake.Headers.Get("Upgrade") == "" {
		t.Errorf("remote handshake %+v", remote.Handshake)
	}
	if string(remote.Handshake.Auth) != `{"rooms":["f"]}` {
		t.Errorf("remote auth %s", remote.Handshake.Auth)
	}
	all, err := a.nsp.Adapter().FetchSockets(context.Background(), server.BroadcastOptions{})
	if err != nil || len(all) != 3 {
		t.Errorf("all sockets: %d %v", len(all), err)
	}
	except, err := a.nsp.Adapter().FetchSockets(context.Background(), server.BroadcastOptions{Except: []string{"g"}})
	if err != nil || len(except) != 2 {
		t.Errorf("except g: %d %v", len(except), err)
	}
}

// roomsOf fetches a socket's rooms through the cluster.
func roomsOf(t *testing.T, n *node, sid string) []string {
	t.Helper()
	socks, err := n.nsp.To(sid).FetchSockets(context.Background())
	if err != nil || len(socks) != 1 {
		t.Fatalf("fetch %s: %v %v", sid, socks, err)
	}
	return socks[0].Rooms
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRemoteRoomsAndDisconnect(t *testing.T) { forModes(t, testRemoteRoomsAndDisconnect) }

func testRemoteRoomsAndDisconnect(t *testing.T, cfg Config) {
	_, a, b := newCluster(t, cfg)
	ca := dialClient(t, a.ts, `{"rooms":["old"]}`)
	cb := dialClient(t, b.ts, `{"rooms":["old"]}`)

	b.nsp.To("old").SocketsJoin("new")
	eventually(t, "remote join", func() bool { return slices.Contains(roomsOf(t, b, ca.SID), "new") })
	if !slices.Contains(roomsOf(t, a, cb.SID), "new") {
		t.Errorf("local socket did not join")
	}
	waitRoomChannels(t, a, b)
	_ = b.nsp.To("new").Emit("in-new")
	ca.mustEvent("in-new")

	b.nsp.To(ca.SID).SocketsLeave("old")
	eventually(t, "remote leave", func() bool { return !slices.Contains(roomsOf(t, b, ca.SID), "old") })
	if !slices.Contains(roomsOf(t, a, cb.SID), "old") {
		t.Errorf("a socket outside the selection left")
	}

	b.nsp.Except(cb.SID).DisconnectSockets(false)
	p, ok := ca.next(5 * time.Second)
	for ok && p.Text != "41" {
		p, ok = ca.next(5 * time.Second)
	}
	if !ok {
		t.Fatal("remote socket got no DISCONNECT")
	}
	eventually(t, "socket gone", func() bool { return a.nsp.Len() == 0 })
	if b.nsp.Len() != 1 {
		t.Errorf("the excepted socket was disconnected")
	}
}

func TestServerSideEmit(t *testing.T) { forModes(t, testServerSideEmit) }

func testServerSideEmit(t *testing.T, cfg Config) {
	_, a, b := newCluster(t, cfg)
	got := make(chan string, 4)
	a.nsp.OnServerSideEmit("hello", func(_ context.Context, args socketio.Args, ack func(any)) {
		got <- string(args.Raw[0])
		if ack != nil {
			ack(socketio.Map{Keys: []string{"from", "n"}, Values: []any{"a", 1}})
			ack("twice") // ignored
		}
	})
	if _, err := b.nsp.Adapter().ServerSideEmit(context.Background(), "hello", []any{"no ack"}, false); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != `"no ack"` {
			t.Errorf("got %s", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no server-side event")
	}
	answers, err := b.nsp.Adapter().ServerSideEmit(context.Background(), "hello", []any{map[string]any{"k": 1}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) != 1 || string(answers[0].Raw[0]) != `{"from":"a","n":1}` {
		t.Errorf("answers %+v", answers)
	}
	if s := <-got; s != `{"k":1}` {
		t.Errorf("got %s", s)
	}

	t.Run("sender does not hear itself", func(t *testing.T) {
		b.nsp.OnServerSideEmit("hello", func(context.Context, socketio.Args, func(any)) { got <- "self" })
		_, _ = b.nsp.Adapter().ServerSideEmit(context.Background(), "hello", []any{"x"}, false)
		if s := <-got; s != `"x"` {
			t.Errorf("got %s", s)
		}
		select {
		case s := <-got:
			t.Errorf("unexpected %s", s)
		case <-time.After(200 * time.Millisecond):
		}
	})
	t.Run("unanswered times out", func(t *testing.T) {
		a.nsp.OnServerSideEmit("mute", func(context.Context, socketio.Args, func(any)) {})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := b.nsp.Adapter().ServerSideEmit(ctx, "mute", nil, true)
		var te *TimeoutError
		if !errors.Is(err, ErrRequestTimeout) || !errors.As(err, &te) || te.Expected != 1 {
			t.Errorf("err %v", err)
		}
	})
	if cfg.Sharded {
		t.Run("binary crosses", func(t *testing.T) {
			if _, err := b.nsp.Adapter().ServerSideEmit(context.Background(), "hello", []any{[]byte{1, 2}}, false); err != nil {
				t.Fatal(err)
			}
			select {
			case s := <-got:
				if s != `{"_placeholder":true,"num":0}` {
					t.Errorf("got %s", s)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no binary server-side event")
			}
		})
	} else {
		t.Run("binary refused", func(t *testing.T) {
			if _, err := b.nsp.Adapter().ServerSideEmit(context.Background(), "hello", []any{[]byte{1}}, false); !errors.Is(err, ErrBinaryNotAllowed) {
				t.Errorf("err %v", err)
			}
		})
	}
}

// wantDrops waits for the drops reported on drops to be want, in order.
func wantDrops(t *testing.T, drops <-chan DropReason, want []DropReason) {
	t.Helper()
	for i, w := range want {
		select {
		case r := <-drops:
			if r != w {
				t.Errorf("drop %d: %s, want %s", i, r, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("drop %d missing", i)
		}
	}
}

// newDropTest starts a cluster for the malformed-message tests: its first
// node, reporting its drops on drops, a client of it, and a plain Redis
// client to publish garbage with.
func newDropTest(t *testing.T, cfg Config) (a *node, c *rawClient, pub *redis.Client, drops chan DropReason) {
	rs, a, _ := newCluster(t, cfg)
	drops = make(chan DropReason, 16)
	a.red.cfg.OnDrop = func(r DropReason, _ error) { drops <- r }
	c = dialClient(t, a.ts, `{}`)
	pub = redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { _ = pub.Close() })
	return a, c, pub, drops
}

func TestMalformedMessagesAreDropped(t *testing.T) {
	a, c, pub, drops := newDropTest(t, Config{})
	ctx := context.Background()
	for _, m := range []struct{ ch, payload string }{
		{"socket.io#/#", "\xc1garbage"},
		{"socket.io#/#", "\x93\xa1x\x01\x02"},
		{"socket.io-request#/#", "{not json"},
		{"socket.io-request#/#", `{"type":99,"uid":"zz"}`},
		{"socket.io-response#/#", "\xdd\xff\xff\xff\xff"},
	} {
		pub.Publish(ctx, m.ch, m.payload)
	}
	want := []DropReason{DropMalformed, DropMalformed, DropMalformed, DropUnknown, DropMalformed}
	wantDrops(t, drops, want)
	if a.red.Dropped() != int64(len(want)) {
		t.Errorf("Dropped() = %d", a.red.Dropped())
	}
	_ = a.nsp.Emit("still-alive")
	c.mustEvent("still-alive")
}

func TestRedisRestart(t *testing.T) { forModes(t, testRedisRestart) }

func testRedisRestart(t *testing.T, cfg Config) {
	before := runtime.NumGoroutine()
	rs := testenv.StartRedis(t)
	cfg.RequestsTimeout = time.Second
	a := newNode(t, rs.Addr, cfg)
	b := newNode(t, rs.Addr, cfg)
	waitServers(t, 2, a, b)
	ca := dialClient(t, a.ts, `{"rooms":["x"]}`)
	cb := dialClient(t, b.ts, `{"rooms":["x"]}`)
	waitRoomChannels(t, a, b)
	_ = b.nsp.To("x").Emit("before")
	ca.mustEvent("before")
	cb.mustEvent("before")

	rs.Kill()
	for i := range 20 { // local emits keep arriving, none waits on Redis
		start := time.Now()
		if err := a.nsp.To("x").Emit("during", i); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Errorf("Emit took %v with Redis down", d)
		}
		ca.mustEvent("during")
	}
	start := time.Now()
	if _, err := a.nsp.Adapter().FetchSockets(context.Background(), server.BroadcastOptions{}); err == nil {
		t.Error("fetchSockets succeeded with Redis down")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("fetchSockets took %v to fail", d)
	}

	rs.Restart()
	got := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !got; {
		_ = b.nsp.To("x").Emit("after")
		_, got = ca.waitEvent("after", 200*time.Millisecond)
	}
	if !got {
		t.Fatal("cross-instance emits did not resume after the restart")
	}
	waitServers(t, 2, a, b)
	if socks, err := a.nsp.Adapter().FetchSockets(context.Background(), server.BroadcastOptions{}); err != nil || len(socks) != 2 {
		t.Errorf("fetchSockets after restart: %d %v", len(socks), err)
	}

	// Everything closed, the goroutines go away.
	a.close()
	b.close()
	for _, c := range []*rawClient{ca, cb} {
		c.conn.Close()
		<-c.closed
	}
	eventually(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before+2 })
}

func TestNewErrors(t *testing.T) {
	if _, err := New(context.Background(), Config{}); !errors.Is(err, ErrNoClient) {
		t.Errorf("no client: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	if _, err := New(context.Background(), Config{Client: c, Sharded: true, SubscriptionMode: "dynamic-public"}); !errors.Is(err, ErrSubscriptionMode) {
		t.Errorf("subscription mode: %v", err)
	}
}
