package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradedash/realtime/server/socketio"
)

// echoAuth makes namespace n emit "auth" with the handshake's auth on
// connection.
func echoAuth(n *Namespace) {
	n.OnConnection(func(s *Socket) { _ = s.Emit("auth", s.Handshake().Auth) })
}

func TestConnectNamespaces(t *testing.T) {
	s := startServer(t, Config{}, func(srv *Server) {
		echoAuth(srv.Of("/"))
		echoAuth(srv.Of("/custom"))
	})
	tests := []struct {
		name, nsp, auth, want string
	}{
		{"no data gives auth {}", "/", "", `42["auth",{}]`},
		{"auth object", "/", `{"token":"x","n":1}`, `42["auth",{"token":"x","n":1}]`},
		{"custom namespace without data", "/custom", "", `42/custom,["auth",{}]`},
		{"custom namespace with auth", "/custom", `{"a":[1]}`, `42/custom,["auth",{"a":[1]}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, s)
			sid := c.connect(tt.nsp, tt.auth)
			if len(sid) != 20 || sid == c.sid {
				t.Fatalf("socket id %q (engine sid %q)", sid, c.sid)
			}
			c.expect(tt.want)
		})
	}
	t.Run("unknown namespace", func(t *testing.T) {
		c := dialRaw(t, s)
		c.send("0/nope,")
		c.expect(`44/nope,{"message":"Invalid namespace"}`)
		// The connection stays usable.
		c.connect("/", "")
	})
	t.Run("two namespaces on one connection", func(t *testing.T) {
		c := dialRaw(t, s)
		a := c.connect("/", "")
		c.expect(`42["auth",{}]`)
		b := c.connect("/custom", "")
		c.expect(`42/custom,["auth",{}]`)
		if a == b {
			t.Fatal("same socket id in two namespaces")
		}
		c.send("1/custom,") // no reply to a DISCONNECT
		c.emit("nothing")
		waitFor(t, "the /custom socket to leave", func() bool { return s.srv.Of("/custom").Len() == 0 })
		if s.srv.Sockets().LocalSocket(a) == nil {
			t.Fatal("the / socket went too")
		}
	})
	for _, bad := range []string{"abc", "0abc", "0[]", "2{}", `2abc["a"]`, `2"x"`, "2[]", `2["disconnect"]`, "51-{}", "9"} {
		t.Run("bad packet 4"+bad+" closes", func(t *testing.T) {
			c := dialRaw(t, s)
			c.connect("/", "")
			c.expect(`42["auth",{}]`)
			c.send(bad)
			c.waitClosed()
		})
	}
	t.Run("event before CONNECT closes", func(t *testing.T) {
		c := dialRaw(t, s)
		c.emit("x")
		c.waitClosed()
	})
}

func TestConnectTimeout(t *testing.T) {
	s := startServer(t, Config{ConnectTimeout: 100 * time.Millisecond}, nil)
	c := dialRaw(t, s)
	start := time.Now()
	c.waitClosed()
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("closed after %v", d)
	}
}

func TestMiddleware(t *testing.T) {
	var order []string
	var mu sync.Mutex
	mark := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	s := startServer(t, Config{Logger: quietLogger()}, func(srv *Server) {
		srv.Use(func(ctx context.Context, s *Socket) error { mark("first"); return nil })
		srv.Use(func(ctx context.Context, s *Socket) error {
			mark("second")
			var auth struct{ Mode string }
			_ = json.Unmarshal(s.Handshake().Auth, &auth)
			switch auth.Mode {
			case "refuse":
				return &ConnectError{Message: "not authorized", Data: socketio.Map{Keys: []string{"code", "retry"}, Values: []any{"UNAUTHORIZED", false}}}
			case "plain":
				return errors.New("boom <&>")
			case "panic":
				panic("middleware bug")
			}
			s.SetIdentity(Identity{UserID: "u1", UserKey: "u1"})
			return nil
		})
		srv.Sockets().OnConnection(func(s *Socket) { _ = s.Emit("who", s.Identity().UserKey) })
	})
	tests := []struct {
		name, auth, want string
	}{
		{"ConnectError with data", `{"Mode":"refuse"}`, `44{"message":"not authorized","data":{"code":"UNAUTHORIZED","retry":false}}`},
		{"plain error", `{"Mode":"plain"}`, `44{"message":"boom <&>"}`},
		{"panic", `{"Mode":"panic"}`, `44{"message":"Internal server error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, s)
			c.send("0" + tt.auth)
			c.expect(tt.want)
			if n := s.srv.Sockets().Len(); n != 0 {
				t.Fatalf("%d sockets after a refusal", n)
			}
		})
	}
	t.Run("accepted", func(t *testing.T) {
		mu.Lock()
		order = nil
		mu.Unlock()
		c := dialRaw(t, s)
		c.connect("/", "")
		c.expect(`42["who","u1"]`)
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(order) != "[first second]" {
			t.Fatalf("middleware order %v", order)
		}
		if n := s.srv.UserConnections("u1"); n != 1 {
			t.Fatalf("UserConnections = %d", n)
		}
	})
}

type subscribe struct {
	Symbols []string `json:"symbols"`
}

func TestTypedHandlersAndAcks(t *testing.T) {
	errs := make(chan error, 10)
	s := startServer(t, Config{Logger: quietLogger()}, func(srv *Server) {
		n := srv.Sockets()
		On(n, "subscribe", func(ctx context.Context, s *Socket, p subscribe, ack Ack) error {
			if len(p.Symbols) == 0 {
				return errors.New("no symbols")
			}
			if ack != nil {
				ack(socketio.Map{Keys: []string{"ok", "symbols"}, Values: []any{true, p.Symbols}})
				ack("second call is dropped")
			}
			return s.Emit("subscribed", len(p.Symbols))
		})
		On(n, "count", func(ctx context.Context, s *Socket, p float64, ack Ack) error {
			ack(p+1, nil, "x")
			return nil
		})
		n.OnError(func(ctx context.Context, s *Socket, event string, err error, ack Ack) {
			errs <- err
			if ack != nil {
				ack(map[string]any{"error": err.Error(), "event": event})
			}
		})
	})
	c := dialRaw(t, s)
	c.connect("/", "")
	tests := []struct {
		name, send string
		want       []string
		wantErr    func(error) bool
	}{
		{"no ack", `2["subscribe",{"symbols":["A","B"]}]`, []string{`42["subscribed",2]`}, nil},
		{"ack", `27["subscribe",{"symbols":["A"]}]`, []string{`437[{"ok":true,"symbols":["A"]}]`, `42["subscribed",1]`}, nil},
		{"ack several args", `20["count",41]`, []string{`430[42,null,"x"]`}, nil},
		{"handler error with ack", `23["subscribe",{"symbols":[]}]`, []string{`433[{"error":"no symbols","event":"subscribe"}]`},
			func(err error) bool { return err.Error() == "no symbols" }},
		{"decode error", `24["subscribe",{"symbols":"A"}]`, []string{`434[{"error":"decode subscribe: json: cannot unmarshal string into Go struct field subscribe.symbols of type []string","event":"subscribe"}]`},
			func(err error) bool {
				var de *DecodeError
				return errors.As(err, &de) && de.Event == "subscribe" && de.Err != nil
			}},
		{"missing payload is the zero value", `25["count"]`, []string{`435[1,null,"x"]`}, nil},
		{"unknown event is ignored", `2["nobody"]`, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(tt.send)
			for _, w := range tt.want {
				if strings.Contains(w, "cannot unmarshal") {
					got := c.expectPrefix(`434[{"error":"decode subscribe: `)
					if !strings.HasSuffix(got, `","event":"subscribe"}]`) {
						t.Fatalf("decode error ack %q", got)
					}
					continue
				}
				c.expect(w)
			}
			if tt.wantErr != nil {
				select {
				case err := <-errs:
					if !tt.wantErr(err) {
						t.Fatalf("error handler got %T %v", err, err)
					}
				case <-time.After(waitTimeout):
					t.Fatal("error handler not called")
				}
			}
			// A marker event proves nothing else was sent.
			c.send(`29["count",0]`)
			c.expect(`439[1,null,"x"]`)
		})
	}
}

func TestServerEmitWithAck(t *testing.T) {
	s := startServer(t, Config{}, nil)
	c := dialRaw(t, s)
	id := c.connect("/", "")
	sock := s.srv.Sockets().LocalSocket(id)

	t.Run("client answers", func(t *testing.T) {
		type res struct {
			args socketio.Args
			err  error
		}
		ch := make(chan res, 1)
		go func() {
			a, err := sock.EmitWithAck(context.Background(), "question", 1, "two")
			ch <- res{a, err}
		}()
		rest := c.expectPrefix("42")
		var ackID int
		var payload string
		if _, err := fmt.Sscanf(rest, "%d%s", &ackID, &payload); err != nil || payload != `["question",1,"two"]` {
			t.Fatalf("event %q", rest)
		}
		c.send(fmt.Sprintf(`3%d["answer",{"n":2}]`, ackID))
		r := <-ch
		if r.err != nil || r.args.Len() != 2 {
			t.Fatalf("EmitWithAck = %v, %v", r.args.Raw, r.err)
		}
		var n struct{ N int }
		if err := r.args.Decode(1, &n); err != nil || n.N != 2 {
			t.Fatalf("arg 1: %+v %v", n, err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := sock.EmitWithAck(ctx, "question")
		if !errors.Is(err, ErrAckTimeout) {
			t.Fatalf("err %v", err)
		}
		rest := c.expectPrefix("42")
		// A late answer is ignored and does not break the connection.
		c.send("3" + strings.TrimSuffix(rest, `["question"]`) + `[]`)
	})
	t.Run("reserved name", func(t *testing.T) {
		if _, err := sock.EmitWithAck(context.Background(), "disconnect"); !errors.Is(err, ErrReservedName) {
			t.Fatalf("err %v", err)
		}
		if err := sock.Emit("connect"); !errors.Is(err, ErrReservedName) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("disconnect fails the pending ack", func(t *testing.T) {
		ch := make(chan error, 1)
		go func() {
			_, err := sock.EmitWithAck(context.Background(), "never")
			ch <- err
		}()
		c.expectPrefix("42")
		c.send("1")
		select {
		case err := <-ch:
			if !errors.Is(err, ErrDisconnected) {
				t.Fatalf("err %v", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("EmitWithAck still waiting after the disconnect")
		}
		if err := sock.Emit("x"); !errors.Is(err, ErrDisconnected) {
			t.Fatalf("Emit after disconnect: %v", err)
		}
	})
}

func TestBroadcastEmitWithAck(t *testing.T) {
	s := startServer(t, Config{}, nil)
	clients := make([]*rawClient, 3)
	for i := range clients {
		clients[i] = dialRaw(t, s)
		clients[i].connect("/", "")
	}
	answer := func(c *rawClient, v string) {
		rest := c.expectPrefix("42")
		i := strings.IndexByte(rest, '[')
		c.send("3" + rest[:i] + "[" + v + "]")
	}
	t.Run("all answer", func(t *testing.T) {
		ch := make(chan []socketio.Args, 1)
		go func() {
			a, err := s.srv.Sockets().To().Timeout(waitTimeout).EmitWithAck(context.Background(), "vote")
			if err != nil {
				t.Error(err)
			}
			ch <- a
		}()
		for i, c := range clients {
			answer(c, fmt.Sprint(i))
		}
		if got := <-ch; len(got) != 3 {
			t.Fatalf("%d answers", len(got))
		}
	})
	t.Run("timeout with partial answers", func(t *testing.T) {
		type res struct {
			a   []socketio.Args
			err error
		}
		ch := make(chan res, 1)
		start := time.Now()
		go func() {
			a, err := s.srv.Sockets().To().Timeout(200*time.Millisecond).EmitWithAck(context.Background(), "vote")
			ch <- res{a, err}
		}()
		answer(clients[0], `"a"`)
		answer(clients[1], `"b"`)
		clients[2].expectPrefix("42") // never answers
		r := <-ch
		if !errors.Is(r.err, ErrAckTimeout) || len(r.a) != 2 {
			t.Fatalf("got %d answers, %v", len(r.a), r.err)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("returned after %v", d)
		}
		got := map[string]bool{}
		for _, a := range r.a {
			var v string
			_ = a.Decode(0, &v)
			got[v] = true
		}
		if !got["a"] || !got["b"] {
			t.Fatalf("answers %v", got)
		}
	})
	t.Run("empty room completes at once", func(t *testing.T) {
		a, err := s.srv.To("nobody").Timeout(waitTimeout).EmitWithAck(context.Background(), "vote")
		if err != nil || len(a) != 0 {
			t.Fatalf("%v %v", a, err)
		}
	})
}

func TestRoomsAndBroadcast(t *testing.T) {
	s := startServer(t, Config{}, func(srv *Server) {
		On(srv.Sockets(), "join", func(ctx context.Context, s *Socket, room string, ack Ack) error {
			s.Join(room)
			ack()
			return nil
		})
		On(srv.Sockets(), "leave", func(ctx context.Context, s *Socket, room string, ack Ack) error {
			s.Leave(room)
			ack()
			return nil
		})
		On(srv.Sockets(), "relay", func(ctx context.Context, s *Socket, room string, ack Ack) error {
			if err := s.To(room).Emit("relayed", room); err != nil {
				return err
			}
			ack()
			return nil
		})
	})
	cs := make([]*rawClient, 3)
	ids := make([]string, 3)
	for i := range cs {
		cs[i] = dialRaw(t, s)
		ids[i] = cs[i].connect("/", "")
	}
	join := func(i int, room string) {
		cs[i].send(`20["join",` + jsonString(room) + `]`)
		cs[i].expect(`430[]`)
	}
	join(0, "a")
	join(1, "a")
	join(1, "b")
	join(2, "b")
	// marker proves absence: after each case every client gets "end".
	tests := []struct {
		name string
		emit func() error
		want []bool
	}{
		{"to a", func() error { return s.srv.To("a").Emit("m", 1) }, []bool{true, true, false}},
		{"to a and b once each", func() error { return s.srv.To("a", "b").Emit("m", 1) }, []bool{true, true, true}},
		{"to a except b", func() error { return s.srv.To("a").Except("b").Emit("m", 1) }, []bool{true, false, false}},
		{"except a", func() error { return s.srv.Sockets().Except("a").Emit("m", 1) }, []bool{false, false, true}},
		{"everyone", func() error { return s.srv.EmitToAll("m", 1) }, []bool{true, true, true}},
		{"socket id room", func() error { return s.srv.To(ids[2]).Emit("m", 1) }, []bool{false, false, true}},
		{"volatile to writable websockets", func() error { return s.srv.To("b").Volatile().Emit("m", 1) }, []bool{false, true, true}},
		{"unknown room", func() error { return s.srv.To("zzz").Emit("m", 1) }, []bool{false, false, false}},
		{"socket.To leaves the sender out", func() error {
			cs[1].send(`22["relay","a"]`)
			cs[1].expect(`432[]`)
			return nil
		}, []bool{true, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.emit(); err != nil {
				t.Fatal(err)
			}
			_ = s.srv.Sockets().Emit("end")
			for i, c := range cs {
				f := c.next()
				if tt.want[i] {
					if f.data != `42["m",1]` && f.data != `42["relayed","a"]` {
						t.Fatalf("client %d got %q", i, f.data)
					}
					f = c.next()
				}
				if f.data != `42["end"]` {
					t.Fatalf("client %d got %q, want end", i, f.data)
				}
			}
		})
	}
	t.Run("reserved name refused", func(t *testing.T) {
		if err := s.srv.To("a").Emit("disconnecting"); !errors.Is(err, ErrReservedName) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("rooms, leave, disconnect cleans up", func(t *testing.T) {
		sock := s.srv.Sockets().LocalSocket(ids[1])
		if !sock.InRoom("a") || !sock.InRoom(ids[1]) || len(sock.Rooms()) != 3 {
			t.Fatalf("rooms %v", sock.Rooms())
		}
		cs[1].send(`21["leave","a"]`)
		cs[1].expect(`431[]`)
		if sock.InRoom("a") {
			t.Fatal("still in a")
		}
		cs[1].conn.Close()
		waitFor(t, "the socket to go", func() bool { return s.srv.Sockets().LocalSocket(ids[1]) == nil })
		for _, r := range s.srv.LocalRooms("") {
			if r == ids[1] {
				t.Fatal("its own room is left behind")
			}
		}
		if got := fmt.Sprint(s.srv.Sockets().Adapter().Sockets([]Room{"b"})); got != fmt.Sprint([]string{ids[2]}) {
			t.Fatalf("room b = %s", got)
		}
	})
	t.Run("volatile to a polling client without a pending poll is dropped", func(t *testing.T) {
		p := dialPolling(t, s)
		p.push("0")
		p.pollUntil("40")
		_ = s.srv.Sockets().To().Volatile().Emit("v", 1)
		_ = s.srv.Sockets().Emit("end")
		got := p.pollUntil(`42["end"]`)
		for _, g := range got {
			if strings.HasPrefix(g, `42["v"`) {
				t.Fatalf("volatile delivered: %q", got)
			}
		}
	})
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestBinary(t *testing.T) {
	got := make(chan []byte, 1)
	s := startServer(t, Config{}, func(srv *Server) {
		OnArgs(srv.Sockets(), "upload", func(ctx context.Context, s *Socket, args socketio.Args, ack Ack) error {
			var name string
			var data []byte
			if err := args.Decode(0, &name); err != nil {
				return err
			}
			if err := args.Decode(1, &data); err != nil {
				return err
			}
			got <- data
			ack(name, []byte("reply:"+string(data)))
			return nil
		})
	})
	c := dialRaw(t, s)
	id := c.connect("/", "")
	c.send(`51-3["upload","f.bin",{"_placeholder":true,"num":0}]`)
	c.sendBinary([]byte{0, 1, 2, 0xff})
	select {
	case b := <-got:
		if string(b) != "\x00\x01\x02\xff" {
			t.Fatalf("handler got %q", b)
		}
	case <-time.After(waitTimeout):
		t.Fatal("handler not called")
	}
	c.expect(`461-3["f.bin",{"_placeholder":true,"num":0}]`)
	if f := c.next(); !f.binary || f.data != "reply:\x00\x01\x02\xff" {
		t.Fatalf("attachment %q binary=%v", f.data, f.binary)
	}
	// Server to client, nested and top level, to one socket and broadcast.
	sock := s.srv.Sockets().LocalSocket(id)
	if err := sock.Emit("file", []byte("A"), map[string]any{"inner": []any{[]byte("B")}}); err != nil {
		t.Fatal(err)
	}
	c.expect(`452-["file",{"_placeholder":true,"num":0},{"inner":[{"_placeholder":true,"num":1}]}]`)
	for _, want := range []string{"A", "B"} {
		if f := c.next(); !f.binary || f.data != want {
			t.Fatalf("attachment %q, want %q", f.data, want)
		}
	}
	if err := s.srv.EmitToAll("bcast", []byte("C")); err != nil {
		t.Fatal(err)
	}
	c.expect(`451-["bcast",{"_placeholder":true,"num":0}]`)
	if f := c.next(); !f.binary || f.data != "C" {
		t.Fatalf("attachment %q", f.data)
	}
	t.Run("binary over polling as b+base64", func(t *testing.T) {
		p := dialPolling(t, s)
		p.push("0")
		pkts := p.pollUntil("40")
		var v struct{ SID string }
		_ = json.Unmarshal([]byte(strings.TrimPrefix(pkts[len(pkts)-1], "40")), &v)
		_ = s.srv.Sockets().LocalSocket(v.SID).Emit("file", []byte{1, 2, 3})
		got := p.pollUntil("b")
		if n := len(got); n < 2 || got[n-2] != `451-["file",{"_placeholder":true,"num":0}]` || got[n-1] != "bAQID" {
			t.Fatalf("poll %q", got)
		}
	})
}

// TestEventOrder: 500 events from one client are handled in the order sent,
// and the DISCONNECT after them is handled last.
func TestEventOrder(t *testing.T) {
	const n = 500
	type rec struct {
		mu     sync.Mutex
		seen   []int
		atDisc int
		done   chan struct{}
	}
	recs := sync.Map{}
	s := startServer(t, Config{}, func(srv *Server) {
		srv.Sockets().OnConnection(func(s *Socket) {
			r := &rec{atDisc: -1, done: make(chan struct{})}
			recs.Store(s.ID(), r)
			s.OnDisconnect(func(string) {
				r.mu.Lock()
				r.atDisc = len(r.seen)
				r.mu.Unlock()
				close(r.done)
			})
		})
		On(srv.Sockets(), "seq", func(ctx context.Context, s *Socket, i int, ack Ack) error {
			v, _ := recs.Load(s.ID())
			r := v.(*rec)
			r.mu.Lock()
			r.seen = append(r.seen, i)
			r.mu.Unlock()
			if ack != nil {
				ack(i)
			}
			return nil
		})
	})
	check := func(t *testing.T, id string) {
		v, _ := recs.Load(id)
		r := v.(*rec)
		select {
		case <-r.done:
		case <-time.After(waitTimeout):
			t.Fatal("no disconnect")
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.atDisc != n {
			t.Fatalf("DISCONNECT handled after %d events, want %d", r.atDisc, n)
		}
		for i, v := range r.seen {
			if v != i {
				t.Fatalf("event %d handled at position %d", v, i)
			}
		}
	}
	t.Run("websocket", func(t *testing.T) {
		for run := range 5 {
			c := dialRaw(t, s)
			id := c.connect("/", "")
			for i := range n {
				c.send(fmt.Sprintf(`2["seq",%d]`, i))
			}
			c.send("1")
			check(t, id)
			_ = run
		}
	})
	t.Run("polling", func(t *testing.T) {
		for run := range 5 {
			p := dialPolling(t, s)
			p.push("0")
			pkts := p.pollUntil("40")
			var v struct{ SID string }
			_ = json.Unmarshal([]byte(strings.TrimPrefix(pkts[len(pkts)-1], "40")), &v)
			batch := []string{}
			for i := range n {
				batch = append(batch, fmt.Sprintf(`2["seq",%d]`, i))
				if len(batch) == 50 {
					p.push(batch...)
					batch = batch[:0]
				}
			}
			p.push("1")
			check(t, v.SID)
			_ = run
		}
	})
	t.Run("acks come back in order", func(t *testing.T) {
		c := dialRaw(t, s)
		c.connect("/", "")
		for i := range n {
			c.send(fmt.Sprintf(`2%d["seq",%d]`, i, i))
		}
		for i := range n {
			c.expect(fmt.Sprintf(`43%d[%d]`, i, i))
		}
	})
}

func TestHandlerPanic(t *testing.T) {
	s := startServer(t, Config{Logger: quietLogger()}, func(srv *Server) {
		On(srv.Sockets(), "boom", func(ctx context.Context, s *Socket, _ any, ack Ack) error { panic("handler bug") })
		On(srv.Sockets(), "ok", func(ctx context.Context, s *Socket, v string, ack Ack) error { return s.Emit("ok", v) })
		srv.Sockets().OnConnection(func(s *Socket) {
			if s.Handshake().Auth != nil && string(s.Handshake().Auth) == `{"panic":true}` {
				panic("connection callback bug")
			}
		})
	})
	a := dialRaw(t, s)
	a.connect("/", "")
	b := dialRaw(t, s)
	b.connect("/", `{"panic":true}`)
	a.emit("boom")
	a.emit("ok", `"a"`)
	a.expect(`42["ok","a"]`)
	b.emit("ok", `"b"`)
	b.expect(`42["ok","b"]`)
	for range 3 {
		b.emit("boom")
	}
	b.emit("ok", `"b2"`)
	b.expect(`42["ok","b2"]`)
}

func TestShutdown(t *testing.T) {
	const grace = 300 * time.Millisecond
	s := startServer(t, Config{ShutdownGrace: grace}, nil)
	ws := dialRaw(t, s)
	ws.connect("/", "")
	pc := dialPolling(t, s)
	pc.push("0")
	pc.pollUntil("40")

	health := func() string {
		res, err := http.Get(s.ts.URL + "/health/websocket")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			Status string
			Stats  Stats
		}
		b, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("health %q", b)
		}
		return body.Status
	}
	if h := health(); h != "healthy" {
		t.Fatalf("health %q", h)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- s.srv.Shutdown(context.Background()) }()

	rest := ws.expectPrefix(`42["server:shutdown",`)
	var notice struct {
		Message   string `json:"message"`
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSuffix(rest, "]")), &notice); err != nil || notice.Message == "" || len(notice.Timestamp) != 24 {
		t.Fatalf("notice %q", rest)
	}
	if h := health(); h != "unhealthy" {
		t.Fatalf("health during the grace %q", h)
	}
	if s.srv.Healthy() {
		t.Fatal("Healthy during the grace")
	}
	var got []string
	var pmu sync.Mutex
	pdone := make(chan struct{})
	go func() {
		defer close(pdone)
		deadline := time.Now().Add(waitTimeout)
		for time.Now().Before(deadline) {
			status, pkts := pc.poll()
			pmu.Lock()
			got = append(got, pkts...)
			pmu.Unlock()
			if status != 200 {
				return
			}
		}
	}()
	ws.expect("41")
	if d := time.Since(start); d < grace {
		t.Fatalf("DISCONNECT after %v, before the grace", d)
	}
	ws.waitClosed()
	<-pdone
	pmu.Lock()
	all := strings.Join(got, "|")
	pmu.Unlock()
	i, j := strings.Index(all, `42["server:shutdown"`), strings.Index(all, "|41")
	if i < 0 || j < i {
		t.Fatalf("polling client got %q", all)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Shutdown did not return")
	}
	if n := s.srv.Sockets().Len(); n != 0 {
		t.Fatalf("%d sockets after Shutdown", n)
	}
	// The listener is the caller's to close; the engine opens no session.
	if conn, _, err := dialer.Dial(s.wsURL(), nil); err == nil {
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
		if _, b, err := conn.ReadMessage(); err == nil {
			t.Fatalf("new connection after Shutdown got %q", b)
		}
	}
}

func TestHooksAndStats(t *testing.T) {
	var connects, disconnects, events atomic.Int32
	s := startServer(t, Config{}, func(srv *Server) {
		srv.SetHooks(Hooks{
			Connect:    func(*Socket, bool) { connects.Add(1) },
			Disconnect: func(_ *Socket, reason string) { disconnects.Add(1) },
			Event:      func(string, time.Duration, error) { events.Add(1) },
		})
		srv.Use(func(ctx context.Context, s *Socket) error {
			s.SetIdentity(Identity{UserID: 7.0, UserKey: "7"})
			return nil
		})
		On(srv.Sockets(), "e", func(ctx context.Context, s *Socket, _ any, ack Ack) error { ack(); return nil })
	})
	a, b := dialRaw(t, s), dialRaw(t, s)
	a.connect("/", "")
	b.connect("/", "")
	a.send(`21["e"]`)
	a.expect(`431[]`)
	// The CONNECT answer goes out before the connection is counted.
	waitFor(t, "both connections counted", func() bool { return connects.Load() == 2 })
	st := s.srv.Stats()
	if st.TotalConnections != 2 || st.UniqueUsers != 1 || st.RedisAdapter || s.srv.UserConnections("7") != 2 {
		t.Fatalf("stats %+v", st)
	}
	a.send("1")
	waitFor(t, "the disconnect hook", func() bool { return disconnects.Load() == 1 })
	if connects.Load() != 2 || events.Load() != 1 || s.srv.UserConnections("7") != 1 {
		t.Fatalf("connects %d events %d user conns %d", connects.Load(), events.Load(), s.srv.UserConnections("7"))
	}
}

func TestISOTime(t *testing.T) {
	tm := time.Date(2024, 2, 3, 4, 5, 6, 7_000_000, time.FixedZone("x", 3600))
	if got := ISOTime(tm); got != "2024-02-03T03:05:06.007Z" {
		t.Fatalf("ISOTime = %s", got)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
