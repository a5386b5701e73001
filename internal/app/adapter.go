package app

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/tradedash/realtime/server"
)

// adapter returns the namespace adapter: in-memory without REDIS_URL.
func (a *App) adapter(_ context.Context, rdb *redis.Client) (server.AdapterFactory, bool, error) {
	if rdb == nil {
		return server.NewMemoryAdapter, false, nil
	}
	// The Redis adapter is wired here once package adapter lands.
	return server.NewMemoryAdapter, false, nil
}
