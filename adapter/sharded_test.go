package adapter

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tradedash/realtime/internal/testenv"
)

// TestShardedWireFormat reads what a sharded Go instance publishes, with a
// plain SSUBSCRIBE: Node's ClusterAdapter messages, JSON unless binary.
func TestShardedWireFormat(t *testing.T) {
	rs := testenv.StartRedis(t)
	a := newNode(t, rs.Addr, Config{Sharded: true})
	_ = dialClient(t, a.ts, `{"rooms":["news"]}`)
	spy := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer spy.Close()
	ctx := context.Background()
	ps := spy.SSubscribe(ctx, "socket.io#/#", "socket.io#/#news#")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	uid := a.nsp.Adapter().(*shardedNS).uid
	tests := []struct {
		name    string
		emit    func() error
		channel string
		want    string // with UID for the uid; a regexp when it starts with ^
	}{
		{"all", func() error { return a.nsp.Emit("ev", 1, "é") }, "socket.io#/#",
			`{"type":3,"data":{"packet":{"type":2,"data":["ev",1,"é"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"UID","nsp":"/"}`},
		{"one public room", func() error { return a.nsp.To("news").Except("x").Emit("ev") }, "socket.io#/#news#",
			`{"type":3,"data":{"packet":{"type":2,"data":["ev"]},"opts":{"rooms":["news"],"except":["x"],"flags":{}}},"uid":"UID","nsp":"/"}`},
		{"a socket id", func() error { return a.nsp.To("01234567890123456789").Emit("ev") }, "socket.io#/#",
			`{"type":3,"data":{"packet":{"type":2,"data":["ev"]},"opts":{"rooms":["01234567890123456789"],"except":[],"flags":{}}},"uid":"UID","nsp":"/"}`},
		{"two rooms", func() error { return a.nsp.To("news", "b").Volatile().Emit("ev") }, "socket.io#/#",
			`{"type":3,"data":{"packet":{"type":2,"data":["ev"]},"opts":{"rooms":["news","b"],"except":[],"flags":{"volatile":true}}},"uid":"UID","nsp":"/"}`},
		{"binary is msgpack", func() error { return a.nsp.To("news").Emit("ev", []byte{7}) }, "socket.io#/#news#",
			"\x84\xa4type\x03\xa4data\x82\xa6packet\x82\xa4type\x02\xa4data\x92\xa2ev\xc4\x01\x07\xa4opts\x83\xa5rooms\x91\xa4news\xa6except\x90\xa5flags\x80\xa3uid\xb0UID\xa3nsp\xa1/"},
		{"server-side emit", func() error { return a.nsp.ServerSideEmit(ctx, "hi", "x") }, "socket.io#/#",
			`{"type":9,"data":{"packet":["hi","x"]},"uid":"UID","nsp":"/"}`},
		{"sockets join", func() error { a.nsp.To("news").SocketsJoin("z"); return nil }, "socket.io#/#",
			`{"type":4,"data":{"opts":{"rooms":["news"],"except":[],"flags":{}},"rooms":["z"]},"uid":"UID","nsp":"/"}`},
		{"disconnect", func() error { a.nsp.To("nobody").DisconnectSockets(true); return nil }, "socket.io#/#",
			`{"type":6,"data":{"opts":{"rooms":["nobody"],"except":[],"flags":{}},"close":true},"uid":"UID","nsp":"/"}`},
		{"broadcast with ack", func() error {
			go func() { _, _ = a.nsp.To("news").Timeout(50*time.Millisecond).EmitWithAck(ctx, "q") }()
			return nil
		}, "socket.io#/#",
			`^\{"type":3,"data":\{"packet":\{"type":2,"data":\["q"\]\},"requestId":"[0-9a-f]{16}","opts":\{"rooms":\["news"\],"except":\[\],"flags":\{"timeout":50\}\}\},"uid":"UID","nsp":"/"\}$`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.emit(); err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			m, err := ps.ReceiveMessage(rctx)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tc.want, "UID", uid)
			if m.Channel != tc.channel {
				t.Errorf("channel %q, want %q", m.Channel, tc.channel)
			}
			if strings.HasPrefix(want, "^") {
				if !regexp.MustCompile(want).MatchString(m.Payload) {
					t.Errorf("payload %q, want %s", m.Payload, want)
				}
			} else if m.Payload != want {
				t.Errorf("payload %q\nwant      %q", m.Payload, want)
			}
		})
	}
}

// TestShardedSubscriptionModes checks which room channels an instance
// subscribes to in each mode, and that they follow joins and leaves.
func TestShardedSubscriptionModes(t *testing.T) {
	rs := testenv.StartRedis(t)
	spy := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer spy.Close()
	numsub := func(ch string) int64 {
		res, err := spy.PubSubShardNumSub(context.Background(), ch).Result()
		if err != nil {
			t.Fatal(err)
		}
		return res[ch]
	}
	tests := []struct {
		mode          SubscriptionMode
		public, owned int64 // subscribers of "pub" and of the socket's own room
	}{
		{SubscriptionDynamic, 1, 0},
		{SubscriptionStatic, 0, 0},
		{SubscriptionDynamicPrivate, 1, 1},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			key := "m-" + string(tc.mode)
			a := newNode(t, rs.Addr, Config{Sharded: true, SubscriptionMode: tc.mode, Key: key})
			c := dialClient(t, a.ts, `{"rooms":["pub"]}`)
			sidCh := key + "#/#" + c.SID + "#"
			eventually(t, "subscriptions", func() bool {
				return numsub(key+"#/#pub#") == tc.public && numsub(sidCh) == tc.owned
			})
			if n := numsub(key + "#/#"); n != 1 {
				t.Errorf("namespace channel: %d subscribers", n)
			}
			a.nsp.To(c.SID).SocketsLeave("pub")
			eventually(t, "leave", func() bool { return numsub(key+"#/#pub#") == 0 })
			a.nsp.To(c.SID).SocketsJoin("pub")
			eventually(t, "join again", func() bool { return numsub(key+"#/#pub#") == tc.public })
			c.conn.Close()
			eventually(t, "gone", func() bool { return numsub(key+"#/#pub#") == 0 && numsub(sidCh) == 0 })
			a.close()
			if n := numsub(key + "#/#"); n != 0 {
				t.Errorf("namespace channel after close: %d subscribers", n)
			}
		})
	}
}

// TestShardedMalformedMessagesAreDropped: garbage on the sharded channels
// is counted and logged, never fatal.
func TestShardedMalformedMessagesAreDropped(t *testing.T) {
	a, c, pub, drops := newDropTest(t, Config{Sharded: true})
	ctx := context.Background()
	resp := a.nsp.Adapter().(*shardedNS).responseChannel
	for _, m := range []struct{ ch, payload string }{
		{"socket.io#/#", "\xc1garbage"},
		{"socket.io#/#", "{not json"},
		{"socket.io#/#", `{"data":{}}`},
		{"socket.io#/#", `{"type":99,"uid":"zz","nsp":"/"}`},
		{"socket.io#/#", `{"type":3,"uid":"zz","nsp":"/","data":{"packet":{"type":2,"data":"x"}}}`},
		{resp, `{"type":3,"uid":"zz","nsp":"/","data":{}}`},
		{"socket.io#/#", `{"type":3,"uid":"zz","nsp":"/other","data":{}}`}, // another namespace: ignored
		{"socket.io#/#", `{"type":2,"uid":"zz","nsp":"/"}`},                // a heartbeat: ignored
	} {
		pub.SPublish(ctx, m.ch, m.payload)
	}
	want := []DropReason{DropMalformed, DropMalformed, DropMalformed, DropUnknown, DropMalformed, DropUnknown}
	wantDrops(t, drops, want)
	_ = a.nsp.Emit("still-alive")
	c.mustEvent("still-alive")
	if a.red.Dropped() != int64(len(want)) {
		t.Errorf("Dropped() = %d", a.red.Dropped())
	}
}
