package demo

import (
	"errors"
	"sort"
	"strings"
	"sync"
)

// emitted is one call recorded by fakeEmitter.
type emitted struct {
	target string // "user:<key>" for EmitToUser, the room for EmitToRoom
	event  string
	data   any
}

// fakeEmitter records emits and serves a fixed room list.
type fakeEmitter struct {
	mu      sync.Mutex
	rooms   []string
	calls   []emitted
	failFor string       // EmitTo* returns an error for this target
	notify  chan emitted // optional: every call is also sent here
}

var errFake = errors.New("fake emit failure")

func (f *fakeEmitter) record(target, event string, data any) error {
	f.mu.Lock()
	f.calls = append(f.calls, emitted{target, event, data})
	fail := f.failFor == target
	ch := f.notify
	f.mu.Unlock()
	if ch != nil {
		select {
		case ch <- emitted{target, event, data}:
		default:
		}
	}
	if fail {
		return errFake
	}
	return nil
}

func (f *fakeEmitter) EmitToUser(userKey, event string, data any) error {
	return f.record("user:"+userKey, event, data)
}

func (f *fakeEmitter) EmitToRoom(room, event string, data any) error {
	return f.record(room, event, data)
}

func (f *fakeEmitter) LocalRooms(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.rooms {
		if strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out))) // the feed must not rely on order
	return out
}

func (f *fakeEmitter) setRooms(rooms ...string) {
	f.mu.Lock()
	f.rooms = rooms
	f.mu.Unlock()
}

// take returns and clears the recorded calls.
func (f *fakeEmitter) take() []emitted {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}
