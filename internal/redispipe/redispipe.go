// Package redispipe sends the single Redis commands of many goroutines in
// pipelines: a go-redis hook queues each eligible command, and a few worker
// goroutines (only while there is work) send whatever is queued as one
// pipeline, one write and one read for the lot. An idle server sends a
// command alone at once, as before; under load (a burst of connections,
// each authenticating and checking its limits) the round trips, system
// calls and Redis's own work per command fall with the batch size.
//
// Only GET, EVALSHA and EVAL are batched (the session lookup and the
// limiter scripts); anything else, blocking commands and Pub/Sub included,
// goes its usual way. A command's result and error are its own, as without
// the hook (a NOSCRIPT reply still makes redis.Script fall back to EVAL).
package redispipe

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tradedash/realtime/internal/workq"
)

// Hook is the go-redis hook; Install adds one to a client.
type Hook struct {
	client *redis.Client
	queue  workq.Queue[*call]

	onBatch func(size int) // tests: each pipeline's size
}

type call struct {
	ctx  context.Context
	cmd  redis.Cmder
	done chan struct{}
}

// Install adds a Hook to client with up to workers pipelines in flight.
func Install(client *redis.Client, workers int) *Hook {
	h := &Hook{client: client}
	h.queue = workq.Queue[*call]{Max: workers, Batch: maxBatch, Do: h.exec}
	client.AddHook(h)
	return h
}

func batched(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "get", "evalsha", "eval":
		return true
	}
	return false
}

// DialHook implements redis.Hook: dialing goes its way.
func (h *Hook) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessPipelineHook implements redis.Hook: pipelines go their way.
func (h *Hook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// ProcessHook implements redis.Hook: an eligible command waits for the
// pipeline that carries it.
func (h *Hook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !batched(cmd) {
			return next(ctx, cmd)
		}
		c := &call{ctx: ctx, cmd: cmd, done: make(chan struct{})}
		h.queue.Push(c)
		<-c.done
		return cmd.Err()
	}
}

// maxBatch bounds one pipeline.
const maxBatch = 256

// exec sends one pipeline, bounded by the latest deadline of its callers
// (none when one has none: the client's read and write timeouts apply).
func (h *Hook) exec(batch []*call) {
	ctx := context.Background()
	var latest time.Time
	all := true
	for _, c := range batch {
		d, ok := c.ctx.Deadline()
		if !ok {
			all = false
			break
		}
		if d.After(latest) {
			latest = d
		}
	}
	if all {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, latest)
		defer cancel()
	}
	if h.onBatch != nil {
		h.onBatch(len(batch))
	}
	pipe := h.client.Pipeline()
	for _, c := range batch {
		_ = pipe.Process(ctx, c.cmd)
	}
	_, _ = pipe.Exec(ctx)
	for _, c := range batch {
		close(c.done)
	}
}
