package app

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/tradedash/realtime/adapter"
	"github.com/tradedash/realtime/server"
)

// adapter returns the namespace adapter: the Redis adapter (Node's wire
// format) with REDIS_URL, the in-memory one without.
func (a *App) adapter(ctx context.Context, rdb *redis.Client) (server.AdapterFactory, error) {
	if rdb == nil {
		return server.NewMemoryAdapter, nil
	}
	r, err := adapter.New(ctx, adapter.Config{
		Client:  rdb,
		Key:     a.cfg.RedisAdapterKey,
		Sharded: a.cfg.RedisAdapterSharded,
		OnDrop: func(reason adapter.DropReason, _ error) {
			a.metrics.adapterErrors.WithLabelValues(string(reason)).Inc()
		},
		Logger: a.log,
	})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, r.Close)
	return r.Factory(), nil
}
