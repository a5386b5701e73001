// Command server is the trading dashboard's real-time server: a Socket.IO 4
// compatible server (see README.md).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/tradedash/realtime/internal/app"
)

// defaultGCPercent is the garbage collector's target when GOGC is not set.
// The live heap of this server is mostly per-connection state; Go's default
// of 100 lets the heap grow to twice that before collecting, and the
// process keeps the pages. At 50, an idle connection costs about 7.3 KiB of
// RSS instead of 8.8 (N=10,000, docs/benchmarks.md) for a few percent more
// GC work. GOGC overrides it (GOGC=100 for Go's default).
const defaultGCPercent = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	cfg, log, err := loadConfig(os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "config:", err)
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		<-sigs
		stop() // graceful shutdown
		<-sigs
		log.Warn("second signal, exiting now")
		os.Exit(1)
	}()
	a, err := app.New(ctx, cfg, log)
	if err == nil {
		err = a.Run(ctx)
	}
	if err != nil {
		log.Error("server stopped", "err", err)
		os.Exit(1)
	}
}
