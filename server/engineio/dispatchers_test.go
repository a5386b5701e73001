package engineio

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// dispatcherCount counts the pooled dispatcher goroutines.
func dispatcherCount() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return bytes.Count(buf, []byte("(*dispatchers).loop"))
}

// TestDispatchersReusedThenEnd: the input of many sessions, in bursts, is
// handled in order per session by pooled dispatchers (fewer than the
// bursts), which end once there is no input for dispatcherIdle.
func TestDispatchersReusedThenEnd(t *testing.T) {
	e := startEngine(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute}, true)
	const clients, rounds = 8, 20
	ws := make([]func(string), clients)
	reads := make([]func() string, clients)
	for i := range clients {
		c := e.mustDial(t, "?EIO=4&transport=websocket")
		readText(t, c) // open
		e.nextSession(t)
		ws[i] = func(m string) { writeText(t, c, m) }
		reads[i] = func() string { return readText(t, c) }
	}
	most := 0
	for r := range rounds {
		for i := range clients {
			ws[i](fmt.Sprintf("4m%d", r))
		}
		for i := range clients {
			if got, want := reads[i](), fmt.Sprintf("4m%d", r); got != want {
				t.Fatalf("client %d round %d: %q, want %q", i, r, got, want)
			}
		}
		most = max(most, dispatcherCount())
	}
	if most == 0 || most >= clients*rounds {
		t.Fatalf("%d dispatchers at most for %d bursts", most, clients*rounds)
	}
	waitFor(t, "the idle dispatchers to end", func() bool { return dispatcherCount() == 0 })
}
