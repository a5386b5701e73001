package server

import (
	"encoding/json"
	"net/http"
)

type healthBody struct {
	Status string `json:"status"`
	Stats  Stats  `json:"stats"`
}

// serveHealth answers GET /health/websocket with the seed's JSON; the
// status is "unhealthy" once a shutdown has begun.
func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	body := healthBody{Status: "healthy", Stats: s.Stats()}
	if !s.Healthy() {
		body.Status = "unhealthy"
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(b)
}
