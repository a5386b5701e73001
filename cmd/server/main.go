// Command server is the trading dashboard's real-time server: a Socket.IO 4
// compatible server (see README.md).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tradedash/realtime/internal/app"
)

func main() {
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
