// Package wsbench measures the two WebSocket libraries the stack could be
// built on, gorilla/websocket and lxzan/gws, on what the server needs from
// them: one message broadcast to many connections (prepared once), and the
// memory an idle connection costs. It has no code of its own beyond the
// benchmarks; README.md ("Why gorilla/websocket") quotes their figures.
package wsbench
