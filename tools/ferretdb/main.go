// Command ferretdb runs an embedded FerretDB v1 (SQLite backend) for tests.
//
// It exists because the published ferretdb command panics when its build
// version file is missing; the embeddable package does not need it.
//
//	ferretdb -listen 127.0.0.1:27017 -dir /tmp/ferretdb-data
//
// SIGTERM or SIGINT stops it cleanly (exit 0). It logs `listening addr=...`
// on stderr once the listener is bound.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (loopback)")
	dir := flag.String("dir", "", "data directory for the SQLite files (required)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	flag.Parse()

	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return err
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// MongoDBURI blocks until Run has bound the listener.
	fmt.Fprintf(os.Stderr, "listening addr=%s uri=%s\n", *listen, f.MongoDBURI())

	return <-done
}
