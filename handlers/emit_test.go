package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const emitToken = "emit-secret"

type emitAnswer struct {
	status int
	body   map[string]any
}

func postEmit(t *testing.T, url, method, auth string, body []byte) emitAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", raw, err)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	return emitAnswer{res.StatusCode, m}
}

func TestEmitRefusals(t *testing.T) {
	h := startHarness(t, harnessConfig{})
	ep := httptest.NewServer(EmitHandler(h.srv, emitToken))
	t.Cleanup(ep.Close)
	off := httptest.NewServer(EmitHandler(h.srv, "")) // no token configured: nothing passes
	t.Cleanup(off.Close)
	victim := h.dial(t, h.user("victim"))
	room := "watchlist:EMIT"
	if r := victim.ack("subscribe:watchlist", map[string]any{"symbols": []string{"EMIT"}}); r["ok"] != true {
		t.Fatal(r)
	}
	good := `{"userId":"victim","event":"leak","data":1}`
	bearer := "Bearer " + emitToken
	huge := `{"event":"leak","data":"` + strings.Repeat("x", MaxEmitBody) + `"}`
	cases := []struct {
		name   string
		url    string
		method string
		auth   string
		body   string
		status int
		code   string
	}{
		{"no token", ep.URL, "POST", "", good, 401, "UNAUTHORIZED"},
		{"wrong token", ep.URL, "POST", "Bearer nope", good, 401, "UNAUTHORIZED"},
		{"token without Bearer", ep.URL, "POST", emitToken, good, 401, "UNAUTHORIZED"},
		{"lower-case bearer", ep.URL, "POST", "bearer " + emitToken, good, 401, "UNAUTHORIZED"},
		{"token prefix", ep.URL, "POST", bearer[:len(bearer)-1], good, 401, "UNAUTHORIZED"},
		{"token plus more", ep.URL, "POST", bearer + "x", good, 401, "UNAUTHORIZED"},
		{"endpoint without token config", off.URL, "POST", "Bearer ", good, 401, "UNAUTHORIZED"},
		{"GET", ep.URL, "GET", bearer, "", 405, "METHOD_NOT_ALLOWED"},
		{"PUT", ep.URL, "PUT", bearer, good, 405, "METHOD_NOT_ALLOWED"},
		{"DELETE", ep.URL, "DELETE", bearer, "", 405, "METHOD_NOT_ALLOWED"},
		{"invalid JSON", ep.URL, "POST", bearer, `{"event":`, 400, "INVALID_JSON"},
		{"empty body", ep.URL, "POST", bearer, ``, 400, "INVALID_JSON"},
		{"two JSON values", ep.URL, "POST", bearer, good + good, 400, "INVALID_JSON"},
		{"not an object", ep.URL, "POST", bearer, `"leak"`, 400, "INVALID_PAYLOAD"},
		{"null", ep.URL, "POST", bearer, `null`, 400, "INVALID_PAYLOAD"},
		{"no event", ep.URL, "POST", bearer, `{"userId":"victim"}`, 400, "INVALID_PAYLOAD"},
		{"empty event", ep.URL, "POST", bearer, `{"event":""}`, 400, "INVALID_PAYLOAD"},
		{"event not a string", ep.URL, "POST", bearer, `{"event":1}`, 400, "INVALID_PAYLOAD"},
		{"event key in another case", ep.URL, "POST", bearer, `{"Event":"leak"}`, 400, "INVALID_PAYLOAD"},
		{"reserved connect", ep.URL, "POST", bearer, `{"event":"connect"}`, 400, "INVALID_PAYLOAD"},
		{"reserved disconnect", ep.URL, "POST", bearer, `{"event":"disconnect","room":"` + room + `"}`, 400, "INVALID_PAYLOAD"},
		{"reserved connect_error", ep.URL, "POST", bearer, `{"event":"connect_error"}`, 400, "INVALID_PAYLOAD"},
		{"reserved disconnecting", ep.URL, "POST", bearer, `{"event":"disconnecting"}`, 400, "INVALID_PAYLOAD"},
		{"reserved newListener", ep.URL, "POST", bearer, `{"event":"newListener"}`, 400, "INVALID_PAYLOAD"},
		{"reserved removeListener", ep.URL, "POST", bearer, `{"event":"removeListener"}`, 400, "INVALID_PAYLOAD"},
		{"userId and room", ep.URL, "POST", bearer, `{"userId":"victim","room":"` + room + `","event":"leak"}`, 400, "INVALID_PAYLOAD"},
		{"userId null", ep.URL, "POST", bearer, `{"userId":null,"event":"leak"}`, 400, "INVALID_PAYLOAD"},
		{"userId empty", ep.URL, "POST", bearer, `{"userId":"","event":"leak"}`, 400, "INVALID_PAYLOAD"},
		{"userId object", ep.URL, "POST", bearer, `{"userId":{},"event":"leak"}`, 400, "INVALID_PAYLOAD"},
		{"userId bool", ep.URL, "POST", bearer, `{"userId":true,"event":"leak"}`, 400, "INVALID_PAYLOAD"},
		{"userId infinite", ep.URL, "POST", bearer, `{"userId":1e999,"event":"leak"}`, 400, "INVALID_PAYLOAD"},
		{"room empty", ep.URL, "POST", bearer, `{"room":"","event":"leak"}`, 400, "INVALID_PAYLOAD"},
		{"room number", ep.URL, "POST", bearer, `{"room":5,"event":"leak"}`, 400, "INVALID_PAYLOAD"},
		{"empty batch item", ep.URL, "POST", bearer, `[{"room":"` + room + `","event":"leak"},{}]`, 400, "INVALID_PAYLOAD"},
		{"bad item last in a batch", ep.URL, "POST", bearer, `[` + good + `,{"room":"` + room + `","event":"leak"},{"event":"connect"}]`, 400, "INVALID_PAYLOAD"},
		{"non-object in a batch", ep.URL, "POST", bearer, `[` + good + `,7]`, 400, "INVALID_PAYLOAD"},
		{"over 1 MiB", ep.URL, "POST", bearer, huge, 413, "PAYLOAD_TOO_LARGE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := postEmit(t, tc.url, tc.method, tc.auth, []byte(tc.body))
			if a.status != tc.status || a.body["code"] != tc.code || a.body["ok"] != false {
				t.Fatalf("status %d body %v, want %d %s", a.status, a.body, tc.status, tc.code)
			}
			if _, ok := a.body["message"].(string); !ok {
				t.Fatalf("no message: %v", a.body)
			}
		})
	}
	// Nothing of any refused request was emitted: a good request sent now
	// arrives, and no "leak" came before it.
	if a := postEmit(t, ep.URL, "POST", bearer, []byte(`{"userId":"victim","event":"marker"}`)); a.status != 200 {
		t.Fatalf("marker: %v", a)
	}
	victim.next("marker")
	if victim.has("leak") {
		t.Fatalf("a refused request emitted: %v", victim.names())
	}
}

func TestEmitDelivers(t *testing.T) {
	h := startHarness(t, harnessConfig{})
	ep := httptest.NewServer(EmitHandler(h.srv, emitToken))
	t.Cleanup(ep.Close)
	alice := h.dial(t, h.user("alice"))
	alice2 := h.dial(t, h.user("alice"))
	num := h.dial(t, h.user(123.0))
	bob := h.dial(t, h.user("bob"))
	if r := bob.ack("subscribe:watchlist", map[string]any{"symbols": []string{"AAPL"}}); r["ok"] != true {
		t.Fatal(r)
	}
	bob.next("subscribed:watchlist")
	post := func(body string) float64 {
		t.Helper()
		a := postEmit(t, ep.URL, "POST", "Bearer "+emitToken, []byte(body))
		if a.status != 200 || a.body["ok"] != true {
			t.Fatalf("%s: %d %v", body, a.status, a.body)
		}
		wantKeys(t, "emit answer", a.body, "ok", "emitted")
		return a.body["emitted"].(float64)
	}
	everyone := []*client{alice, alice2, num, bob}

	// To a user: both of alice's sockets, nobody else.
	if n := post(`{"userId":"alice","event":"portfolio:update","data":{"userId":"alice","portfolio":{"value":1}}}`); n != 1 {
		t.Fatalf("emitted %v", n)
	}
	for _, c := range []*client{alice, alice2} {
		if got := string(c.next("portfolio:update")[0]); got != `{"userId":"alice","portfolio":{"value":1}}` {
			t.Fatalf("data %s", got)
		}
	}
	// A numeric userId reaches user:123.
	post(`{"userId":123,"event":"n","data":null}`)
	if got := string(num.next("n")[0]); got != "null" {
		t.Fatalf("data %s", got)
	}
	// To a room.
	post(`{"room":"watchlist:AAPL","event":"quote:update","data":{"symbol":"AAPL","quote":{"price":1.5}}}`)
	if got := string(bob.next("quote:update")[0]); got != `{"symbol":"AAPL","quote":{"price":1.5}}` {
		t.Fatalf("data %s", got)
	}
	// To everyone, without data: the event has no argument.
	post(`{"event":"hello"}`)
	for _, c := range everyone {
		if args := c.next("hello"); len(args) != 0 {
			t.Fatalf("hello args %s", args)
		}
	}
	for _, c := range everyone {
		c.barrier()
		for _, name := range c.names() {
			t.Fatalf("socket %s got an unexpected %q", c.SID(), name)
		}
	}
	// A batch is emitted in order, each item to its target.
	var items []string
	for i := 0; i < 50; i++ {
		items = append(items, `{"userId":"bob","event":"seq","data":`+strings.Repeat(" ", i%3)+itoa(i)+`}`)
	}
	items = append(items, `{"room":"watchlist:AAPL","event":"seq","data":50}`, `{"event":"seq","data":51}`)
	if n := post("[" + strings.Join(items, ",") + "]"); n != 52 {
		t.Fatalf("emitted %v", n)
	}
	for i := 0; i < 52; i++ {
		if got := string(bob.next("seq")[0]); got != itoa(i) {
			t.Fatalf("item %d arrived as %s", i, got)
		}
	}
	if got := string(alice.next("seq")[0]); got != "51" {
		t.Fatalf("alice got %s", got)
	}
	// An empty batch emits nothing and says so.
	if n := post(`[]`); n != 0 {
		t.Fatalf("empty batch emitted %v", n)
	}
	// Just under 1 MiB passes.
	big := `{"userId":"bob","event":"big","data":"` + strings.Repeat("x", MaxEmitBody-100) + `"}`
	post(big)
	if got := len(bob.next("big")[0]); got != MaxEmitBody-100+2 {
		t.Fatalf("big data %d bytes", got)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestEmitDisabled(t *testing.T) {
	ep := httptest.NewServer(EmitDisabled())
	t.Cleanup(ep.Close)
	for _, m := range []string{"POST", "GET"} {
		if a := postEmit(t, ep.URL, m, "Bearer x", []byte(`{"event":"x"}`)); a.status != 404 || a.body["code"] != "NOT_FOUND" {
			t.Fatalf("%s: %v", m, a)
		}
	}
}
