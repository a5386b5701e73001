package handlers

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// confirmation is what one client event confirms with.
type confirmation struct {
	event, confirm string
	payload        []any  // the event's arguments
	key            string // "room" or "symbols"
}

func confirmations(user string) []confirmation {
	wl := map[string]any{"symbols": []string{" aapl", "MSFT", "aapl ", "brk.b"}}
	return []confirmation{
		{"subscribe:portfolio", "subscribed:portfolio", nil, "room"},
		{"unsubscribe:portfolio", "unsubscribed:portfolio", nil, "room"},
		{"subscribe:trades", "subscribed:trades", nil, "room"},
		{"unsubscribe:trades", "unsubscribed:trades", nil, "room"},
		{"subscribe:watchlist", "subscribed:watchlist", []any{wl}, "symbols"},
		{"unsubscribe:watchlist", "unsubscribed:watchlist", []any{wl}, "symbols"},
	}
}

// TestEventConfirmations: every event, with and without an ack, confirms
// with exactly the keys of EVENTS.md, and the socket really is in (or out
// of) the room afterwards.
func TestEventConfirmations(t *testing.T) {
	for _, lk := range limiterKinds {
		t.Run(string(lk), func(t *testing.T) {
			h := startHarness(t, harnessConfig{Limiters: lk})
			for _, userID := range []any{"alice", 123.0} {
				key := fmt.Sprint(userID)
				for _, withAck := range []bool{false, true} {
					t.Run(fmt.Sprintf("user=%v/ack=%v", userID, withAck), func(t *testing.T) {
						c := h.dial(t, h.user(userID))
						for _, cf := range confirmations(key) {
							if withAck {
								a := c.ack(cf.event, cf.payload...)
								wantKeys(t, cf.event+" ack", a, "ok", cf.key, "timestamp")
								if a["ok"] != true || !isoTime.MatchString(fmt.Sprint(a["timestamp"])) {
									t.Fatalf("%s ack %v", cf.event, a)
								}
							} else if err := c.Emit(cf.event, cf.payload...); err != nil {
								t.Fatal(err)
							}
							args := c.next(cf.confirm)
							if len(args) != 1 {
								t.Fatalf("%s: %d args", cf.confirm, len(args))
							}
							m := object(t, args[0])
							wantKeys(t, cf.confirm, m, cf.key, "timestamp")
							if !isoTime.MatchString(fmt.Sprint(m["timestamp"])) {
								t.Fatalf("%s timestamp %v", cf.confirm, m["timestamp"])
							}
							switch cf.key {
							case "room":
								prefix := strings.SplitN(cf.confirm, ":", 2)[1]
								if want := prefix + ":" + key; m["room"] != want {
									t.Fatalf("%s room %v, want %s", cf.confirm, m["room"], want)
								}
							case "symbols":
								if got := fmt.Sprint(m["symbols"]); got != "[AAPL MSFT BRK.B]" {
									t.Fatalf("%s symbols %s", cf.confirm, got)
								}
							}
							s := h.serverSocket(t, c)
							subscribed := strings.HasPrefix(cf.event, "subscribe:")
							rooms := []string{"portfolio:" + key}
							if strings.HasSuffix(cf.event, "trades") {
								rooms = []string{"trades:" + key}
							} else if strings.HasSuffix(cf.event, "watchlist") {
								rooms = []string{"watchlist:AAPL", "watchlist:MSFT", "watchlist:BRK.B"}
							}
							for _, r := range rooms {
								if s.InRoom(r) != subscribed {
									t.Fatalf("after %s InRoom(%s) = %v", cf.event, r, !subscribed)
								}
							}
							if subscribed { // an emit to the room arrives
								if err := h.srv.To(rooms[0]).Emit("probe", rooms[0]); err != nil {
									t.Fatal(err)
								}
								if got := string(c.next("probe")[0]); got != `"`+rooms[0]+`"` {
									t.Fatalf("probe %s", got)
								}
							}
						}
						if !h.serverSocket(t, c).InRoom("user:" + key) {
							t.Fatalf("not in user:%s", key)
						}
						if err := c.Err(); err != nil {
							t.Fatalf("connection ended: %v", err)
						}
					})
				}
			}
		})
	}
}

// TestSubscribeTwiceConfirms: a second subscribe to a held room is a no-op
// that still confirms (and takes no second slot).
func TestSubscribeTwiceConfirms(t *testing.T) {
	h := startHarness(t, harnessConfig{MaxSubs: 1})
	c := h.dial(t, h.user("twice"))
	for i := 0; i < 3; i++ {
		if a := c.ack("subscribe:portfolio"); a["ok"] != true {
			t.Fatalf("subscribe %d: %v", i, a)
		}
	}
	if n := len(h.serverSocket(t, c).Rooms()); n != 3 { // own id, user:, portfolio:
		t.Fatalf("rooms %v", h.serverSocket(t, c).Rooms())
	}
}

// refusal checks a refused event's ack and `error` event.
func wantRefusal(t *testing.T, c *client, a map[string]any, event, code string) map[string]any {
	t.Helper()
	if a["ok"] != false || a["code"] != code || a["message"] == "" {
		t.Fatalf("%s ack %v, want ok:false code:%s", event, a, code)
	}
	e := object(t, c.next("error")[0])
	if e["code"] != code || e["event"] != event || e["message"] != a["message"] {
		t.Fatalf("%s error event %v, want code %s", event, e, code)
	}
	return e
}

func TestRateLimit(t *testing.T) {
	for _, lk := range limiterKinds {
		t.Run(string(lk), func(t *testing.T) {
			h := startHarness(t, harnessConfig{Limiters: lk})
			auth := h.user("rl-user")
			a, b := h.dial(t, auth), h.dial(t, auth)
			other := h.dial(t, h.user("rl-other"))
			// Ten subscribe:portfolio, spread over the user's two sockets.
			for i := 0; i < 10; i++ {
				c := a
				if i%2 == 1 {
					c = b
				}
				if r := c.ack("subscribe:portfolio"); r["ok"] != true {
					t.Fatalf("event %d refused: %v", i+1, r)
				}
			}
			for _, c := range []*client{a, b} {
				r := c.ack("subscribe:portfolio")
				e := wantRefusal(t, c, r, "subscribe:portfolio", "RATE_LIMIT")
				wantKeys(t, "error", e, "code", "message", "event", "retryAfterMs")
				wantKeys(t, "ack", r, "ok", "code", "message", "retryAfterMs")
				ms, _ := e["retryAfterMs"].(float64)
				if ms <= 0 || ms > 60000 || r["retryAfterMs"] != e["retryAfterMs"] {
					t.Fatalf("retryAfterMs %v / %v", e["retryAfterMs"], r["retryAfterMs"])
				}
			}
			// Without an ack the refusal is the error event alone.
			if err := a.Emit("subscribe:portfolio"); err != nil {
				t.Fatal(err)
			}
			if e := object(t, a.next("error")[0]); e["code"] != "RATE_LIMIT" {
				t.Fatalf("error %v", e)
			}
			// Each event has its own budget; another user has theirs.
			if r := a.ack("subscribe:trades"); r["ok"] != true {
				t.Fatalf("subscribe:trades refused: %v", r)
			}
			if r := other.ack("subscribe:portfolio"); r["ok"] != true {
				t.Fatalf("other user refused: %v", r)
			}
			// ping is not rate limited.
			for i := 0; i < 20; i++ {
				if r := a.ack("ping"); r["ok"] != true {
					t.Fatalf("ping %d: %v", i, r)
				}
			}
		})
	}
}

// TestRateLimitWindowPasses: after retryAfterMs the event is admitted again.
func TestRateLimitWindowPasses(t *testing.T) {
	for _, lk := range limiterKinds {
		t.Run(string(lk), func(t *testing.T) {
			h := startHarness(t, harnessConfig{Limiters: lk, RateMax: 2, RateWindow: 300 * time.Millisecond})
			c := h.dial(t, h.user("window"))
			c.ack("subscribe:trades")
			c.ack("subscribe:trades")
			r := c.ack("subscribe:trades")
			wantRefusal(t, c, r, "subscribe:trades", "RATE_LIMIT")
			retry := time.Duration(r["retryAfterMs"].(float64)) * time.Millisecond
			start := time.Now()
			time.Sleep(retry) // the limiter's own promise
			for {
				r := c.ack("subscribe:trades")
				if r["ok"] == true {
					break
				}
				c.next("error")
				if time.Since(start) > retry+2*time.Second {
					t.Fatalf("still refused %v after retryAfterMs %v: %v", time.Since(start), retry, r)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func symbolList(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func TestSubscriptionLimit(t *testing.T) {
	for _, lk := range limiterKinds {
		t.Run(string(lk), func(t *testing.T) {
			h := startHarness(t, harnessConfig{Limiters: lk, RateMax: 1000})
			auth := h.user("cap")
			a, b := h.dial(t, auth), h.dial(t, auth)
			watcher := h.dial(t, h.user("cap-watcher"))
			watcher.ack("subscribe:watchlist", map[string]any{"symbols": []string{"NEW1", "NEW2"}})

			if r := a.ack("subscribe:watchlist", map[string]any{"symbols": symbolList("S", 49)}); r["ok"] != true {
				t.Fatalf("49 symbols: %v", r)
			}
			if r := b.ack("subscribe:portfolio"); r["ok"] != true { // the 50th, from the other socket
				t.Fatalf("50th: %v", r)
			}
			// The 51st is refused, from either socket, and joins nothing.
			wantRefusal(t, a, a.ack("subscribe:trades"), "subscribe:trades", "SUBSCRIPTION_LIMIT")
			wantRefusal(t, b, b.ack("subscribe:watchlist", map[string]any{"symbols": []string{"NEW1"}}), "subscribe:watchlist", "SUBSCRIPTION_LIMIT")
			// A request with one held and one new symbol joins nothing either.
			wantRefusal(t, a, a.ack("subscribe:watchlist", map[string]any{"symbols": []string{"S0", "NEW2"}}), "subscribe:watchlist", "SUBSCRIPTION_LIMIT")
			if err := a.Emit("subscribe:trades"); err != nil { // without ack: the error event only
				t.Fatal(err)
			}
			if e := object(t, a.next("error")[0]); e["code"] != "SUBSCRIPTION_LIMIT" {
				t.Fatalf("error %v", e)
			}
			h.assertNotReached(t, "watchlist:NEW1", watcher, b)
			h.assertNotReached(t, "watchlist:NEW2", watcher, a)
			// Re-subscribing to a held room confirms at the cap.
			if r := a.ack("subscribe:watchlist", map[string]any{"symbols": []string{"S0", "s1"}}); r["ok"] != true {
				t.Fatalf("held rooms at the cap: %v", r)
			}
			// Unsubscribing from a room not held frees nothing.
			if r := a.ack("unsubscribe:trades"); r["ok"] != true {
				t.Fatalf("unsubscribe not held: %v", r)
			}
			wantRefusal(t, a, a.ack("subscribe:trades"), "subscribe:trades", "SUBSCRIPTION_LIMIT")
			// An unsubscribe gives room again.
			if r := a.ack("unsubscribe:watchlist", map[string]any{"symbols": []string{"S0"}}); r["ok"] != true {
				t.Fatalf("unsubscribe: %v", r)
			}
			if r := a.ack("subscribe:trades"); r["ok"] != true {
				t.Fatalf("after an unsubscribe: %v", r)
			}
			wantRefusal(t, a, a.ack("subscribe:watchlist", map[string]any{"symbols": []string{"NEW1"}}), "subscribe:watchlist", "SUBSCRIPTION_LIMIT")
			// A disconnect gives the socket's rooms back (b held one).
			_ = b.Close()
			deadline := time.Now().Add(waitTime)
			for {
				r := a.ack("subscribe:watchlist", map[string]any{"symbols": []string{"NEW1"}})
				if r["ok"] == true {
					break
				}
				a.next("error")
				if time.Now().After(deadline) {
					t.Fatalf("the disconnect gave no room back: %v", r)
				}
				time.Sleep(20 * time.Millisecond)
			}
			// The user: room does not count; another user has their own cap.
			if r := watcher.ack("subscribe:watchlist", map[string]any{"symbols": symbolList("W", 48)}); r["ok"] != true {
				t.Fatalf("other user: %v", r)
			}
		})
	}
}

// assertNotReached emits to room and proves it reaches control but not
// any of the others: after control got it, each other socket's ping barrier
// comes later than the emit would have.
func (h *harness) assertNotReached(t *testing.T, room string, control *client, others ...*client) {
	t.Helper()
	event := "probe:" + room
	if err := h.srv.To(room).Emit(event, room); err != nil {
		t.Fatal(err)
	}
	control.next(event)
	for _, c := range others {
		c.barrier()
		if c.has(event) {
			t.Fatalf("socket %s received %s: it joined %s", c.SID(), event, room)
		}
		if h.serverSocket(t, c).InRoom(room) {
			t.Fatalf("socket %s is in %s", c.SID(), room)
		}
	}
}

// invalidPayloads are every wrong shape of a watchlist payload; each names
// ZZZ somewhere so that a lax parser would join watchlist:ZZZ.
func invalidPayloads() map[string][]any {
	huge := symbolList("Z", 100000)
	huge[0] = "ZZZ"
	deep := any([]any{"ZZZ"})
	for i := 0; i < 200; i++ {
		deep = []any{deep}
	}
	return map[string][]any{
		"no payload":              nil,
		"null":                    {nil},
		"number":                  {42},
		"string":                  {"ZZZ"},
		"array":                   {[]any{"ZZZ"}},
		"empty object":            {map[string]any{}},
		"symbols null":            {map[string]any{"symbols": nil}},
		"symbols {}":              {map[string]any{"symbols": map[string]any{}}},
		"symbols string":          {map[string]any{"symbols": "ZZZ"}},
		"symbols []":              {map[string]any{"symbols": []any{}}},
		"symbols [1]":             {map[string]any{"symbols": []any{"ZZZ", 1}}},
		`symbols [""]`:            {map[string]any{"symbols": []any{"ZZZ", ""}}},
		`symbols ["bad sym"]`:     {map[string]any{"symbols": []any{"ZZZ", "bad sym"}}},
		"17 characters":           {map[string]any{"symbols": []any{"ZZZ", "ABCDEFGHIJKLMNOPQ"}}},
		"51 symbols":              {map[string]any{"symbols": append([]string{"ZZZ"}, symbolList("Y", 50)...)}},
		"huge array":              {map[string]any{"symbols": huge}},
		"nested array":            {map[string]any{"symbols": []any{"ZZZ", []any{"A"}}}},
		"nested object":           {map[string]any{"symbols": []any{"ZZZ", map[string]any{"s": "A"}}}},
		"deeply nested":           {map[string]any{"symbols": deep}},
		"symbols under other key": {map[string]any{"Symbols": []any{"ZZZ"}}},
	}
}

func TestInvalidPayloads(t *testing.T) {
	for _, lk := range limiterKinds {
		t.Run(string(lk), func(t *testing.T) {
			h := startHarness(t, harnessConfig{Limiters: lk, RateMax: 10000})
			control := h.dial(t, h.user("inv-control"))
			if r := control.ack("subscribe:watchlist", map[string]any{"symbols": []string{"ZZZ"}}); r["ok"] != true {
				t.Fatal(r)
			}
			victim := h.dial(t, h.user("inv-victim"))
			for name, args := range invalidPayloads() {
				for _, event := range []string{"subscribe:watchlist", "unsubscribe:watchlist"} {
					t.Run(event+"/"+name, func(t *testing.T) {
						wantRefusal(t, victim, victim.ack(event, args...), event, "INVALID_PAYLOAD")
						if err := victim.Emit(event, args...); err != nil { // and without an ack
							t.Fatal(err)
						}
						if e := object(t, victim.next("error")[0]); e["code"] != "INVALID_PAYLOAD" || e["event"] != event {
							t.Fatalf("error %v", e)
						}
						h.assertNotReached(t, "watchlist:ZZZ", control, victim)
						if slices.ContainsFunc(h.serverSocket(t, victim).Rooms(), func(r string) bool { return strings.HasPrefix(r, "watchlist:") }) {
							t.Fatalf("victim rooms %v", h.serverSocket(t, victim).Rooms())
						}
					})
				}
			}
			// An unsubscribe with a bad payload leaves nothing either: the control
			// still holds ZZZ after sending the same junk.
			for name, args := range invalidPayloads() {
				r := control.ack("unsubscribe:watchlist", args...)
				if r["code"] != "INVALID_PAYLOAD" {
					t.Fatalf("%s: %v", name, r)
				}
				control.next("error")
			}
			if !h.serverSocket(t, control).InRoom("watchlist:ZZZ") {
				t.Fatal("an invalid unsubscribe left watchlist:ZZZ")
			}
		})
	}
}

func TestPing(t *testing.T) {
	h := startHarness(t, harnessConfig{})
	c := h.dial(t, h.user("pinger"))
	cases := []struct {
		name    string
		args    []any
		wantLen any // nil: no length key
	}{
		{"no payload", nil, nil},
		{"empty string", []any{""}, 0.0},
		{"ascii", []any{"hello"}, 5.0},
		{"héllo😀 is 7 UTF-16 units", []any{"héllo😀"}, 7.0},
		{"astral only", []any{"𝄞𝄞"}, 4.0},
		{"CJK", []any{"日本語"}, 3.0},
		{"escaped JSON characters", []any{"a\"b\\c\n"}, 6.0},
		{"number", []any{42}, nil},
		{"numeric string", []any{"42"}, 2.0},
		{"null", []any{nil}, nil},
		{"object", []any{map[string]any{"length": 3}}, nil},
		{"array of strings", []any{[]string{"abc"}}, nil},
		{"bool", []any{true}, nil},
		{"two strings: the first counts", []any{"ab", "cdef"}, 2.0},
		{"long string", []any{strings.Repeat("é", 100000)}, 100000.0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.Emit("ping", tc.args...); err != nil {
				t.Fatal(err)
			}
			p := object(t, c.next("pong")[0])
			wantKeys(t, "pong", p, "timestamp")
			a := c.ack("ping", tc.args...)
			c.next("pong")
			if tc.wantLen == nil {
				wantKeys(t, "ping ack", a, "ok", "timestamp")
			} else {
				wantKeys(t, "ping ack", a, "ok", "timestamp", "length")
				if a["length"] != tc.wantLen {
					t.Fatalf("length %v, want %v", a["length"], tc.wantLen)
				}
			}
			if a["ok"] != true || !isoTime.MatchString(fmt.Sprint(a["timestamp"])) || !isoTime.MatchString(fmt.Sprint(p["timestamp"])) {
				t.Fatalf("ack %v pong %v", a, p)
			}
		})
	}
}

// TestJunkNeverHurts sends every event every shape of payload, with and
// without acks, and a few arguments more: each ack is answered, the
// connection stays up and the server still answers.
func TestJunkNeverHurts(t *testing.T) {
	for _, lk := range limiterKinds {
		t.Run(string(lk), func(t *testing.T) {
			h := startHarness(t, harnessConfig{Limiters: lk, RateMax: 100000, MaxSubs: 100000})
			c := h.dial(t, h.user("junk"))
			deep := any("x")
			for i := 0; i < 500; i++ {
				deep = map[string]any{"a": []any{deep}}
			}
			shapes := [][]any{
				nil, {nil}, {0}, {-1.5e308}, {""}, {"x"}, {strings.Repeat("x", 200000)}, {true}, {[]any{}},
				{map[string]any{}}, {map[string]any{"symbols": []any{"A"}}, "extra", 3},
				{map[string]any{"symbols": map[string]any{"0": "A", "length": 1}}},
				{map[string]any{"__proto__": map[string]any{"symbols": []any{"A"}}}},
				{map[string]any{"symbols": []any{"A"}, "room": "portfolio:someone-else"}},
				{deep}, {[]any{nil, nil, []any{map[string]any{}}}},
			}
			events := []string{"subscribe:portfolio", "unsubscribe:portfolio", "subscribe:trades", "unsubscribe:trades",
				"subscribe:watchlist", "unsubscribe:watchlist", "ping"}
			for _, event := range events {
				for i, args := range shapes {
					if err := c.Emit(event, args...); err != nil {
						t.Fatalf("%s shape %d: %v", event, i, err)
					}
					a := c.ack(event, args...)
					if _, ok := a["ok"].(bool); !ok {
						t.Fatalf("%s shape %d: ack %v", event, i, a)
					}
				}
			}
			// Unknown events, with and without acks, are ignored.
			for _, event := range []string{"subscribe:someone", "", "x" + strings.Repeat("y", 1000), "portfolio:update"} {
				if err := c.Emit(event, map[string]any{"userId": "other"}); err != nil {
					t.Fatal(err)
				}
			}
			for _, r := range h.serverSocket(t, c).Rooms() {
				if strings.Contains(r, "someone") || strings.Contains(r, "other") {
					t.Fatalf("joined a foreign room %s", r)
				}
			}
			if r := c.ack("ping", "ok"); r["length"] != 2.0 {
				t.Fatalf("ping after junk: %v", r)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("connection ended: %v", err)
			}
			// And a fresh client still connects and subscribes.
			d := h.dial(t, h.user("after-junk"))
			if r := d.ack("subscribe:portfolio"); r["ok"] != true {
				t.Fatalf("after junk: %v", r)
			}
		})
	}
}
