package sioclient

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRawGetter: bodies by Content-Length over one kept connection; a
// "Connection: close" answer and a connection the server drops between
// requests are followed by a new connection; a chunked answer and a non-200
// status are errors.
func TestRawGetter(t *testing.T) {
	var conns atomic.Int32
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("case") {
		case "close":
			w.Header().Set("Connection", "close")
		case "drop":
			// Answer, then drop the connection without saying so (an idle
			// keep-alive timeout on the server's side).
			hj, _ := w.(http.Hijacker)
			c, brw, _ := hj.Hijack()
			fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndrop")
			brw.Flush()
			c.Close()
			return
		case "chunked":
			w.(http.Flusher).Flush() // no Content-Length: chunked
		case "404":
			http.Error(w, "nope", http.StatusNotFound)
			return
		}
		fmt.Fprint(w, "body:"+r.URL.Query().Get("case"))
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	g, err := newRawGetter(ts.URL + "/engine.io/?EIO=4")
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	deadline := time.Now().Add(waitTimeoutRaw)
	get := func(c string) (string, error) {
		b, err := g.get("/x?case="+c, deadline, nil)
		return string(b), err
	}
	for i, step := range []struct{ c, want string }{
		{"a", "body:a"}, {"b", "body:b"}, {"close", "body:close"}, {"c", "body:c"}, {"drop", "drop"}, {"d", "body:d"},
	} {
		got, err := get(step.c)
		if err != nil || got != step.want {
			t.Fatalf("step %d (%s): %q %v", i, step.c, got, err)
		}
	}
	// a, b, close on the first connection; c, drop on the second; d on a third.
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d connections, want 3", n)
	}
	if _, err := get("chunked"); err == nil || !strings.Contains(err.Error(), "chunked") {
		t.Fatalf("chunked: %v", err)
	}
	if _, err := get("404"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %v", err)
	}
	if got, err := get("e"); err != nil || got != "body:e" {
		t.Fatalf("after the errors: %q %v", got, err)
	}
}

const waitTimeoutRaw = 5 * time.Second
