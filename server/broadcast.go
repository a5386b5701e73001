package server

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tradedash/realtime/server/socketio"
)

// BroadcastOperator selects recipients and emits to them, as Node's
// BroadcastOperator. Each method returns a new operator; none modifies the
// one it is called on.
type BroadcastOperator struct {
	nsp  *Namespace
	opts BroadcastOptions
}

func newBroadcast(n *Namespace, opts BroadcastOptions) *BroadcastOperator {
	return &BroadcastOperator{nsp: n, opts: opts}
}

func (b *BroadcastOperator) with(fn func(*BroadcastOptions)) *BroadcastOperator {
	o := b.opts
	o.Rooms = slices.Clone(o.Rooms)
	o.Except = slices.Clone(o.Except)
	fn(&o)
	return &BroadcastOperator{nsp: b.nsp, opts: o}
}

// To adds rooms to the recipients.
func (b *BroadcastOperator) To(rooms ...Room) *BroadcastOperator {
	return b.with(func(o *BroadcastOptions) { o.Rooms = append(o.Rooms, rooms...) })
}

// Except leaves out the sockets in rooms.
func (b *BroadcastOperator) Except(rooms ...Room) *BroadcastOperator {
	return b.with(func(o *BroadcastOptions) { o.Except = append(o.Except, rooms...) })
}

// Volatile drops the event for clients that cannot take it now.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	return b.with(func(o *BroadcastOptions) { o.Flags.Volatile = true })
}

// Compress sets whether the event may be deflated.
func (b *BroadcastOperator) Compress(on bool) *BroadcastOperator {
	return b.with(func(o *BroadcastOptions) { o.Flags.NoCompress = !on })
}

// Local keeps the broadcast on this instance.
func (b *BroadcastOperator) Local() *BroadcastOperator {
	return b.with(func(o *BroadcastOptions) { o.Flags.Local = true })
}

// Timeout bounds EmitWithAck.
func (b *BroadcastOperator) Timeout(d time.Duration) *BroadcastOperator {
	return b.with(func(o *BroadcastOptions) { o.Flags.Timeout = d })
}

// Options returns the operator's selection.
func (b *BroadcastOperator) Options() BroadcastOptions { return b.opts }

// Emit sends an event to the selected sockets. The packet is encoded once.
func (b *BroadcastOperator) Emit(event string, args ...any) error {
	if socketio.IsReservedEvent(event) {
		return ErrReservedName
	}
	p, err := socketio.NewEvent(b.nsp.name, event, args, socketio.NoID)
	if err != nil {
		return err
	}
	b.nsp.adapter.Broadcast(p, b.opts)
	b.nsp.srv.hooks.emit(event)
	return nil
}

// EmitWithAck sends an event to the selected sockets and collects their
// acks until every one answered, the timeout (Timeout) passed or ctx ended.
// On a timeout it returns the answers so far with ErrAckTimeout.
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]socketio.Args, error) {
	if socketio.IsReservedEvent(event) {
		return nil, ErrReservedName
	}
	id := b.nsp.nextAckID()
	p, err := socketio.NewEvent(b.nsp.name, event, args, id)
	if err != nil {
		return nil, err
	}
	if b.opts.Flags.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.opts.Flags.Timeout)
		defer cancel()
	}
	// As Node: complete when every instance reported its client count and
	// that many answers are in.
	servers, err := b.nsp.adapter.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	var (
		mu       sync.Mutex
		answers  []socketio.Args
		expected int
		counted  int
		done     = make(chan struct{})
		closed   bool
	)
	check := func() {
		if !closed && counted >= servers && len(answers) >= expected {
			closed = true
			close(done)
		}
	}
	clientCount := func(n int) {
		mu.Lock()
		defer mu.Unlock()
		counted++
		expected += n
		check()
	}
	ack := func(a socketio.Args) {
		mu.Lock()
		defer mu.Unlock()
		answers = append(answers, a)
		check()
	}
	b.nsp.adapter.BroadcastWithAck(p, b.opts, clientCount, ack)
	select {
	case <-done:
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(answers), nil
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(answers), ErrAckTimeout
	}
}

// FetchSockets returns the selected sockets of every instance.
func (b *BroadcastOperator) FetchSockets(ctx context.Context) ([]SocketInfo, error) {
	return b.nsp.adapter.FetchSockets(ctx, b.opts)
}

// SocketsJoin makes the selected sockets join rooms.
func (b *BroadcastOperator) SocketsJoin(rooms ...Room) { b.nsp.adapter.AddSockets(b.opts, rooms) }

// SocketsLeave makes the selected sockets leave rooms.
func (b *BroadcastOperator) SocketsLeave(rooms ...Room) { b.nsp.adapter.DelSockets(b.opts, rooms) }

// DisconnectSockets disconnects the selected sockets.
func (b *BroadcastOperator) DisconnectSockets(close bool) {
	b.nsp.adapter.DisconnectSockets(b.opts, close)
}
