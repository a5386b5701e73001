package app

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
)

// servePprof serves net/http/pprof on its own listener (PPROF_ADDR), never
// on the public one. Validate ensures the address is a loopback one.
func (a *App) servePprof() (func() error, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", a.cfg.PprofAddr)
	if err != nil {
		return nil, fmt.Errorf("PPROF_ADDR: %w", err)
	}
	a.log.Info("pprof listening", "addr", ln.Addr().String())
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	return srv.Close, nil
}

// loopbackAddr reports whether host:port names a loopback address.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
