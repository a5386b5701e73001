// Command clusterfixture is a Go instance for the mixed Node/Go cluster
// tests (compat-tests/test/cluster): a server.Server with the Redis adapter.
// Env: PORT, REDIS_URL, KEY (channel prefix), SHARDED=1 (sharded mode),
// SUBSCRIPTION_MODE. A connecting client joins the rooms of its handshake
// auth {rooms: [...]}, then gets the event "joined". POST /emit,
// /emitWithAck, /fetch, /serverSideEmit, /join, /leave and /disconnect
// (JSON bodies, see emitRequest) act from the Go side; server-side events
// "ping" are answered with {"from":"go","args":[...]} and recorded, GET
// /received returns them.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tradedash/realtime/adapter"
	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

type emitRequest struct {
	Rooms  []string          `json:"rooms"`
	Except []string          `json:"except"`
	Event  string            `json:"event"`
	Args   []json.RawMessage `json:"args"`
	Binary string            `json:"binary"` // appended as a []byte argument when set
	Join   []string          `json:"join"`   // rooms for /join and /leave
	Close  bool              `json:"close"`  // for /disconnect
	// TimeoutMs bounds /emitWithAck (3000 when zero).
	TimeoutMs int `json:"timeoutMs"`
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opt, err := redis.ParseURL(os.Getenv("REDIS_URL"))
	if err != nil {
		log.Error("REDIS_URL", "err", err)
		os.Exit(1)
	}
	client := redis.NewClient(opt)
	red, err := adapter.New(context.Background(), adapter.Config{
		Client:           client,
		Key:              os.Getenv("KEY"),
		Sharded:          os.Getenv("SHARDED") == "1",
		SubscriptionMode: adapter.SubscriptionMode(os.Getenv("SUBSCRIPTION_MODE")),
		Logger:           log,
	})
	if err != nil {
		log.Error("adapter", "err", err)
		os.Exit(1)
	}
	srv := server.New(server.Config{Adapter: red.Factory(), Logger: log})
	nsp := srv.Sockets()
	nsp.OnConnection(func(s *server.Socket) {
		var auth struct{ Rooms []string }
		_ = json.Unmarshal(s.Auth(), &auth)
		if len(auth.Rooms) > 0 {
			s.Join(auth.Rooms...)
		}
		_ = s.Emit("joined")
	})
	var mu sync.Mutex
	received := []json.RawMessage{}
	nsp.OnServerSideEmit("ping", func(_ context.Context, args socketio.Args, ack func(any)) {
		mu.Lock()
		received = append(received, args.Raw...)
		mu.Unlock()
		if ack != nil {
			vals, _ := args.Values()
			ack(socketio.Map{Keys: []string{"from", "args"}, Values: []any{"go", vals}})
		}
	})
	reply := func(w http.ResponseWriter, v any, err error) {
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(500)
			v = map[string]string{"error": err.Error()}
		}
		_ = json.NewEncoder(w).Encode(v)
	}
	srv.Handle("POST /emit", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req emitRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(w, nil, err)
			return
		}
		args := make([]any, 0, len(req.Args)+1)
		for _, a := range req.Args {
			args = append(args, a)
		}
		if req.Binary != "" {
			args = append(args, []byte(req.Binary))
		}
		reply(w, map[string]bool{"ok": true}, nsp.To(req.Rooms...).Except(req.Except...).Emit(req.Event, args...))
	}))
	srv.Handle("POST /emitWithAck", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req emitRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(w, nil, err)
			return
		}
		args := make([]any, 0, len(req.Args))
		for _, a := range req.Args {
			args = append(args, a)
		}
		timeout := time.Duration(req.TimeoutMs) * time.Millisecond
		if timeout <= 0 {
			timeout = 3 * time.Second
		}
		answers, err := nsp.To(req.Rooms...).Except(req.Except...).Timeout(timeout).EmitWithAck(r.Context(), req.Event, args...)
		out := []json.RawMessage{}
		for _, a := range answers {
			out = append(out, a.Raw...)
		}
		res := map[string]any{"answers": out}
		if err != nil {
			res["error"] = err.Error()
		}
		reply(w, res, nil)
	}))
	selected := func(r *http.Request) (*server.BroadcastOperator, emitRequest, error) {
		var req emitRequest
		err := json.NewDecoder(r.Body).Decode(&req)
		return nsp.To(req.Rooms...).Except(req.Except...), req, err
	}
	srv.Handle("POST /join", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, req, err := selected(r)
		if err == nil {
			op.SocketsJoin(req.Join...)
		}
		reply(w, map[string]bool{"ok": true}, err)
	}))
	srv.Handle("POST /leave", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, req, err := selected(r)
		if err == nil {
			op.SocketsLeave(req.Join...)
		}
		reply(w, map[string]bool{"ok": true}, err)
	}))
	srv.Handle("POST /disconnect", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, req, err := selected(r)
		if err == nil {
			op.DisconnectSockets(req.Close)
		}
		reply(w, map[string]bool{"ok": true}, err)
	}))
	srv.Handle("POST /fetch", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req emitRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		socks, err := nsp.To(req.Rooms...).Except(req.Except...).FetchSockets(r.Context())
		reply(w, socks, err)
	}))
	srv.Handle("POST /serverSideEmit", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req emitRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		args := make([]any, 0, len(req.Args))
		for _, a := range req.Args {
			args = append(args, a)
		}
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		answers, err := nsp.Adapter().ServerSideEmit(ctx, req.Event, args, r.URL.Query().Get("ack") == "1")
		out := []json.RawMessage{}
		for _, a := range answers {
			out = append(out, a.Raw...)
		}
		reply(w, out, err)
	}))
	srv.Handle("GET /received", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		reply(w, received, nil)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		log.Error("listen", "err", err)
		os.Exit(1)
	}
	log.Info("listening", "addr", ln.Addr().String())
	_ = http.Serve(ln, srv.Handler())
}
