package server

import (
	"io"
	"log/slog"
)

// quietLogger drops the logs of the cases that provoke errors on purpose.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
