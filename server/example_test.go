package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/tradedash/realtime/server"
)

type subscribeRequest struct {
	Symbols []string `json:"symbols"`
}

// A server with a typed handler: the client's first event argument is
// decoded into subscribeRequest, the socket joins one room per symbol, the
// ack answers, and a broadcast to a room reaches it.
func Example() {
	srv := server.New(server.Config{})
	server.On(srv.Sockets(), "subscribe", func(ctx context.Context, s *server.Socket, req subscribeRequest, ack server.Ack) error {
		for _, sym := range req.Symbols {
			s.Join("quotes:" + sym)
		}
		if ack != nil {
			ack(map[string]any{"ok": true, "symbols": req.Symbols})
		}
		return nil
	})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Shutdown(canceled())

	// A raw Engine.IO 4 / Socket.IO 5 client, to show the wire format.
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	read := func() string {
		_, b, _ := conn.ReadMessage()
		return string(b)
	}
	read() // 0{"sid":...} the Engine.IO handshake
	conn.WriteMessage(websocket.TextMessage, []byte("40"))
	read() // 40{"sid":...} connected to "/"
	conn.WriteMessage(websocket.TextMessage, []byte(`421["subscribe",{"symbols":["AAPL"]}]`))
	fmt.Println(read())

	srv.To("quotes:AAPL").Emit("quote", map[string]any{"symbol": "AAPL", "price": 187.25})
	fmt.Println(read())
	// Output:
	// 431[{"ok":true,"symbols":["AAPL"]}]
	// 42["quote",{"price":187.25,"symbol":"AAPL"}]
}

// Namespaces are created with Of; a middleware refuses a connection with
// a ConnectError, which the client receives as connect_error.
func ExampleServer_Of() {
	srv := server.New(server.Config{})
	admin := srv.Of("/admin")
	admin.Use(func(ctx context.Context, s *server.Socket) error {
		if string(s.Handshake().Auth) != `{"token":"secret"}` {
			return &server.ConnectError{Message: "not authorized", Data: map[string]any{"code": "UNAUTHORIZED"}}
		}
		return nil
	})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Shutdown(canceled())

	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	conn.ReadMessage()
	conn.WriteMessage(websocket.TextMessage, []byte(`40/admin,{"token":"wrong"}`))
	_, b, _ := conn.ReadMessage()
	fmt.Println(string(b))
	// Output:
	// 44/admin,{"message":"not authorized","data":{"code":"UNAUTHORIZED"}}
}

// To selects rooms, Except leaves rooms out; the packet is encoded once for
// all recipients.
func ExampleBroadcastOperator_Emit() {
	srv := server.New(server.Config{})
	// Everyone watching AAPL except the sockets in "muted".
	err := srv.To("quotes:AAPL").Except("muted").Emit("quote", map[string]any{"symbol": "AAPL"})
	fmt.Println(err)
	// Reserved names are refused.
	fmt.Println(srv.To("quotes:AAPL").Emit("disconnect"))
	// Output:
	// <nil>
	// server: reserved event name
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
