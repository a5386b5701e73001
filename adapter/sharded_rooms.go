package adapter

import (
	"context"
	"sync"

	"github.com/tradedash/realtime/server"
)

// roomSubs keeps a sharded namespace adapter subscribed to the channels of
// its local rooms, as Node's adapter does on its create-room and
// delete-room events (subscriptionMode dynamic: public rooms, that is not
// a local socket's id; dynamic-private: every room; static: none).
// Joins and leaves only mark rooms; one goroutine (syncRooms) compares
// them with the subscriptions and talks to Redis, so a join never waits
// on Redis.
type roomSubs struct {
	mu         sync.Mutex
	dirty      map[server.Room]struct{}
	subscribed map[server.Room]struct{}
	kick       chan struct{}
	done       chan struct{}

	opMu    sync.Mutex // held by a sync pass and by stop
	stopped bool
}

func (rs *roomSubs) init() {
	rs.dirty = make(map[server.Room]struct{})
	rs.subscribed = make(map[server.Room]struct{})
	rs.kick = make(chan struct{}, 1)
	rs.done = make(chan struct{})
}

// stop ends the syncing and returns the room channels still subscribed.
func (a *shardedNS) stopRooms() []string {
	rs := &a.rooms
	rs.opMu.Lock()
	defer rs.opMu.Unlock()
	if rs.stopped {
		return nil
	}
	rs.stopped = true
	close(rs.done)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := make([]string, 0, len(rs.subscribed))
	for room := range rs.subscribed {
		out = append(out, a.roomChannel(room))
	}
	return out
}

// AddAll implements server.Adapter.
func (a *shardedNS) AddAll(id string, rooms []server.Room) {
	a.MemoryAdapter.AddAll(id, rooms)
	a.touch(id, rooms)
}

// Del implements server.Adapter.
func (a *shardedNS) Del(id string, room server.Room) {
	a.MemoryAdapter.Del(id, room)
	a.touch(id, []server.Room{room})
}

// DelAll implements server.Adapter.
func (a *shardedNS) DelAll(id string) {
	rooms := a.MemoryAdapter.SocketRooms(id)
	a.MemoryAdapter.DelAll(id)
	a.touch(id, rooms)
}

// touch marks rooms whose channel subscription may have to change.
func (a *shardedNS) touch(id string, rooms []server.Room) {
	mode := a.r.cfg.SubscriptionMode
	if mode == SubscriptionStatic || len(rooms) == 0 {
		return
	}
	marked := rooms
	if mode == SubscriptionDynamic {
		marked = make([]server.Room, 0, len(rooms))
		for _, room := range rooms {
			if room != id && a.nsp.LocalSocket(room) == nil {
				marked = append(marked, room)
			}
		}
		if len(marked) == 0 {
			return
		}
	}
	a.rooms.mu.Lock()
	for _, room := range marked {
		a.rooms.dirty[room] = struct{}{}
	}
	a.rooms.mu.Unlock()
	select {
	case a.rooms.kick <- struct{}{}:
	default:
	}
}

func (a *shardedNS) syncRooms() {
	defer a.r.wg.Done()
	for {
		select {
		case <-a.r.ctx.Done():
			return
		case <-a.rooms.done:
			return
		case <-a.rooms.kick:
		}
		a.syncRoomsOnce()
	}
}

// syncRoomsOnce subscribes to the channels of the marked rooms that exist
// and unsubscribes from those of the marked rooms gone.
func (a *shardedNS) syncRoomsOnce() {
	rs := &a.rooms
	rs.opMu.Lock()
	defer rs.opMu.Unlock()
	if rs.stopped {
		return
	}
	rs.mu.Lock()
	dirty := rs.dirty
	rs.dirty = make(map[server.Room]struct{})
	rs.mu.Unlock()
	var sub, unsub []string
	for room := range dirty {
		exists := len(a.MemoryAdapter.Sockets([]server.Room{room})) > 0
		rs.mu.Lock()
		_, have := rs.subscribed[room]
		switch {
		case exists && !have:
			rs.subscribed[room] = struct{}{}
			sub = append(sub, a.roomChannel(room))
		case !exists && have:
			delete(rs.subscribed, room)
			unsub = append(unsub, a.roomChannel(room))
		}
		rs.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(a.r.ctx, a.r.cfg.PublishTimeout)
	defer cancel()
	if len(sub) > 0 {
		a.r.mu.Lock()
		for _, ch := range sub {
			a.r.byShard[ch] = a
		}
		a.r.mu.Unlock()
		if err := a.r.ps.SSubscribe(ctx, sub...); err != nil {
			a.r.log.Warn("ssubscribe of room channels failed, retried on reconnection", "nsp", a.name, "err", err)
		}
	}
	if len(unsub) > 0 {
		if err := a.r.ps.SUnsubscribe(ctx, unsub...); err != nil {
			a.r.log.Warn("sunsubscribe of room channels failed", "nsp", a.name, "err", err)
		}
		a.r.mu.Lock()
		for _, ch := range unsub {
			if ch != a.channel && ch != a.responseChannel && a.r.byShard[ch] == a {
				delete(a.r.byShard, ch)
			}
		}
		a.r.mu.Unlock()
	}
}
