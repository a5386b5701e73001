package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// msg is one Engine.IO message handed to the decoder.
type msg struct {
	data   string
	binary bool
}

func text(s string) msg   { return msg{data: s} }
func binary(s string) msg { return msg{data: s, binary: true} }

func TestDecoderAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   []msg
		want Packet
	}{
		{"connect", []msg{text("0")}, Packet{Type: Connect, Nsp: "/", ID: NoID}},
		{"connect with auth", []msg{text(`0{"token":"x"}`)}, Packet{Type: Connect, Nsp: "/", ID: NoID, Data: json.RawMessage(`{"token":"x"}`)}},
		{"connect namespace", []msg{text("0/admin,")}, Packet{Type: Connect, Nsp: "/admin", ID: NoID}},
		{"connect namespace without comma", []msg{text("0/admin")}, Packet{Type: Connect, Nsp: "/admin", ID: NoID}},
		{"connect namespace with auth", []msg{text(`0/admin,{"a":1}`)}, Packet{Type: Connect, Nsp: "/admin", ID: NoID, Data: json.RawMessage(`{"a":1}`)}},
		{"disconnect", []msg{text("1")}, Packet{Type: Disconnect, Nsp: "/", ID: NoID}},
		{"disconnect namespace", []msg{text("1/admin,")}, Packet{Type: Disconnect, Nsp: "/admin", ID: NoID}},
		{"event", []msg{text(`2["hello",1]`)}, Packet{Type: Event, Nsp: "/", ID: NoID, Data: json.RawMessage(`["hello",1]`)}},
		{"event numeric name", []msg{text(`2[1]`)}, Packet{Type: Event, Nsp: "/", ID: NoID, Data: json.RawMessage(`[1]`)}},
		{"event negative numeric name", []msg{text(`2[-1.5,"x"]`)}, Packet{Type: Event, Nsp: "/", ID: NoID, Data: json.RawMessage(`[-1.5,"x"]`)}},
		{"event without data", []msg{text("2")}, Packet{Type: Event, Nsp: "/", ID: NoID}},
		{"event with ack id", []msg{text(`212["a"]`)}, Packet{Type: Event, Nsp: "/", ID: 12, Data: json.RawMessage(`["a"]`)}},
		{"event namespace and ack id", []msg{text(`2/chat,7["a",{"b":[]}]`)}, Packet{Type: Event, Nsp: "/chat", ID: 7, Data: json.RawMessage(`["a",{"b":[]}]`)}},
		{"event ack id zero", []msg{text(`20["a"]`)}, Packet{Type: Event, Nsp: "/", ID: 0, Data: json.RawMessage(`["a"]`)}},
		{"event ack id 2^53", []msg{text(`29007199254740992["a"]`)}, Packet{Type: Event, Nsp: "/", ID: 1 << 53, Data: json.RawMessage(`["a"]`)}},
		{"event name that looks reserved but is not", []msg{text(`2["connected"]`)}, Packet{Type: Event, Nsp: "/", ID: NoID, Data: json.RawMessage(`["connected"]`)}},
		{"event leading whitespace", []msg{text(`2 ["a"]`)}, Packet{Type: Event, Nsp: "/", ID: NoID, Data: json.RawMessage(` ["a"]`)}},
		{"ack", []msg{text(`35["ok"]`)}, Packet{Type: Ack, Nsp: "/", ID: 5, Data: json.RawMessage(`["ok"]`)}},
		{"ack empty args", []msg{text(`35[]`)}, Packet{Type: Ack, Nsp: "/", ID: 5, Data: json.RawMessage(`[]`)}},
		{"ack namespace", []msg{text(`3/chat,5[]`)}, Packet{Type: Ack, Nsp: "/chat", ID: 5, Data: json.RawMessage(`[]`)}},
		{"connect error object", []msg{text(`4{"message":"no"}`)}, Packet{Type: ConnectError, Nsp: "/", ID: NoID, Data: json.RawMessage(`{"message":"no"}`)}},
		{"connect error string", []msg{text(`4"no"`)}, Packet{Type: ConnectError, Nsp: "/", ID: NoID, Data: json.RawMessage(`"no"`)}},
		{
			"binary event one attachment",
			[]msg{text(`51-["up",{"_placeholder":true,"num":0}]`), binary("\x00\x01\xff")},
			Packet{Type: BinaryEvent, Nsp: "/", ID: NoID, Data: json.RawMessage(`["up",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0, 1, 0xff}}},
		},
		{
			"binary event namespace ack id two attachments",
			[]msg{text(`52-/files,9["up",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`), binary("a"), binary("")},
			Packet{Type: BinaryEvent, Nsp: "/files", ID: 9, Data: json.RawMessage(`["up",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`), Attachments: [][]byte{[]byte("a"), {}}},
		},
		{
			"binary ack",
			[]msg{text(`61-3[{"_placeholder":true,"num":0}]`), binary("z")},
			Packet{Type: BinaryAck, Nsp: "/", ID: 3, Data: json.RawMessage(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{[]byte("z")}},
		},
		{
			"ten attachments (the cap)",
			append([]msg{text(`510-["x"` + strings.Repeat(`,{"_placeholder":true,"num":0}`, 1) + `]`)}, repeatMsg(binary("b"), 10)...),
			Packet{Type: BinaryEvent, Nsp: "/", ID: NoID, Data: json.RawMessage(`["x",{"_placeholder":true,"num":0}]`), Attachments: repeatBytes("b", 10)},
		},
		{
			"placeholder false is data",
			[]msg{text(`51-["x",{"_placeholder":false,"num":99},{"_placeholder":true,"num":0}]`), binary("b")},
			Packet{Type: BinaryEvent, Nsp: "/", ID: NoID, Data: json.RawMessage(`["x",{"_placeholder":false,"num":99},{"_placeholder":true,"num":0}]`), Attachments: [][]byte{[]byte("b")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			var got *Packet
			for i, m := range tt.in {
				p, err := d.Add([]byte(m.data), m.binary)
				if err != nil {
					t.Fatalf("message %d (%q): %v", i, m.data, err)
				}
				if i < len(tt.in)-1 && p != nil {
					t.Fatalf("message %d: packet completed early: %+v", i, p)
				}
				got = p
			}
			if got == nil {
				t.Fatal("no packet after the last message")
			}
			assertPacket(t, got, &tt.want)
		})
	}
}

func repeatMsg(m msg, n int) []msg {
	out := make([]msg, n)
	for i := range out {
		out[i] = m
	}
	return out
}

func repeatBytes(s string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(s)
	}
	return out
}

func assertPacket(t *testing.T, got, want *Packet) {
	t.Helper()
	if got.Type != want.Type || got.Nsp != want.Nsp || got.ID != want.ID || !bytes.Equal(got.Data, want.Data) {
		t.Fatalf("packet = {Type:%d Nsp:%q ID:%d Data:%s}, want {Type:%d Nsp:%q ID:%d Data:%s}",
			got.Type, got.Nsp, got.ID, got.Data, want.Type, want.Nsp, want.ID, want.Data)
	}
	if len(got.Attachments) != len(want.Attachments) {
		t.Fatalf("attachments = %d, want %d", len(got.Attachments), len(want.Attachments))
	}
	for i := range want.Attachments {
		if !bytes.Equal(got.Attachments[i], want.Attachments[i]) {
			t.Fatalf("attachment %d = %q, want %q", i, got.Attachments[i], want.Attachments[i])
		}
	}
}

// TestDecoderRefuses lists the messages Node's socket.io-parser 4.2 refuses
// (the connection is then closed); the error is the one of the last message.
func TestDecoderRefuses(t *testing.T) {
	placeholder := `{"_placeholder":true,"num":0}`
	tests := []struct {
		name string
		in   []msg
		want error
	}{
		{"empty message", []msg{text("")}, ErrUnknownType},
		{"type 7", []msg{text("7")}, ErrUnknownType},
		{"type 9", []msg{text(`9["a"]`)}, ErrUnknownType},
		{"type letter", []msg{text("abc")}, ErrUnknownType},
		// The names give the Engine.IO message ("4" + the Socket.IO packet).
		{"4abc", []msg{text("abc")}, ErrUnknownType},
		{"40abc", []msg{text("0abc")}, ErrInvalidPayload},
		{"40[]", []msg{text("0[]")}, ErrInvalidPayload},
		{"connect string", []msg{text(`0"x"`)}, ErrInvalidPayload},
		{"connect namespace junk", []msg{text("0/admin,abc")}, ErrInvalidPayload},
		{"disconnect with data", []msg{text("1{}")}, ErrInvalidPayload},
		{"42{}", []msg{text("2{}")}, ErrInvalidPayload},
		{"42 ack id then object", []msg{text("21{}")}, ErrInvalidPayload},
		{"42abc[..]", []msg{text(`2abc["a"]`)}, ErrInvalidPayload},
		{"42\"x\"", []msg{text(`2"x"`)}, ErrInvalidPayload},
		{"42[]", []msg{text("2[]")}, ErrInvalidPayload},
		{"event null name", []msg{text("2[null]")}, ErrInvalidPayload},
		{"event object name", []msg{text(`2[{}]`)}, ErrInvalidPayload},
		{"event bool name", []msg{text(`2[true]`)}, ErrInvalidPayload},
		{"event truncated JSON", []msg{text(`2["a"`)}, ErrInvalidPayload},
		{"event trailing junk", []msg{text(`2["a"]x`)}, ErrInvalidPayload},
		{"event ack id too big", []msg{text(`2123456789012345678901["a"]`)}, ErrInvalidPayload},
		{"reserved connect", []msg{text(`2["connect"]`)}, ErrInvalidPayload},
		{"reserved connect_error", []msg{text(`2["connect_error"]`)}, ErrInvalidPayload},
		{"reserved disconnect", []msg{text(`2["disconnect"]`)}, ErrInvalidPayload},
		{"reserved disconnecting", []msg{text(`2["disconnecting"]`)}, ErrInvalidPayload},
		{"reserved newListener", []msg{text(`2["newListener",1]`)}, ErrInvalidPayload},
		{"reserved removeListener", []msg{text(`2["removeListener"]`)}, ErrInvalidPayload},
		{"reserved in binary event", []msg{text(`51-["disconnect",` + placeholder + `]`)}, ErrInvalidPayload},
		{"ack object", []msg{text(`31{}`)}, ErrInvalidPayload},
		{"ack string", []msg{text(`31"a"`)}, ErrInvalidPayload},
		{"connect error array", []msg{text(`4[]`)}, ErrInvalidPayload},
		{"451-{}", []msg{text("51-{}")}, ErrInvalidPayload},
		{"binary event namespace object", []msg{text("51-/a,{}")}, ErrInvalidPayload},
		{"binary no dash", []msg{text(`51["a"]`)}, ErrIllegalAttachments},
		{"binary zero attachments", []msg{text(`50-["a"]`)}, ErrIllegalAttachments},
		{"binary letters", []msg{text(`5a-["a"]`)}, ErrIllegalAttachments},
		{"binary dash only", []msg{text(`5-["a"]`)}, ErrIllegalAttachments},
		{"binary ack zero", []msg{text(`60-1[]`)}, ErrIllegalAttachments},
		{"eleven attachments", []msg{text(`511-["a",` + placeholder + `]`)}, ErrTooManyAttachments},
		{"huge attachment count", []msg{text(`5999999999-["a"]`)}, ErrTooManyAttachments},
		{"attachment count over 9 digits", []msg{text(`51234567890-["a"]`)}, ErrIllegalAttachments},
		{"binary when not waiting", []msg{binary("x")}, ErrUnexpectedBinary},
		{"binary after a complete packet", []msg{text(`2["a"]`), binary("x")}, ErrUnexpectedBinary},
		{"text while waiting for attachments", []msg{text(`52-["a",` + placeholder + `]`), binary("x"), text(`2["b"]`)}, ErrUnexpectedText},
		{"text right after binary header", []msg{text(`51-["a",` + placeholder + `]`), text("2[\"b\"]")}, ErrUnexpectedText},
		{"placeholder num out of range", []msg{text(`51-["a",{"_placeholder":true,"num":1}]`), binary("x")}, ErrIllegalAttachments},
		{"placeholder num negative", []msg{text(`51-["a",{"_placeholder":true,"num":-1}]`), binary("x")}, ErrIllegalAttachments},
		{"placeholder num string", []msg{text(`51-["a",{"_placeholder":true,"num":"0"}]`), binary("x")}, ErrIllegalAttachments},
		{"placeholder num missing", []msg{text(`51-["a",{"_placeholder":true}]`), binary("x")}, ErrIllegalAttachments},
		{"placeholder num fraction", []msg{text(`52-["a",{"_placeholder":true,"num":0.5}]`), binary("x"), binary("y")}, ErrIllegalAttachments},
		{"nested bad placeholder", []msg{text(`51-["a",{"deep":[{"_placeholder":true,"num":4}]}]`), binary("x")}, ErrIllegalAttachments},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			var err error
			for i, m := range tt.in {
				var p *Packet
				p, err = d.Add([]byte(m.data), m.binary)
				if i < len(tt.in)-1 {
					if err != nil {
						t.Fatalf("message %d (%q): unexpected error %v", i, m.data, err)
					}
					continue
				}
				if p != nil {
					t.Fatalf("got packet %+v, want error %v", p, tt.want)
				}
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecoderMaxAttachments(t *testing.T) {
	tests := []struct {
		max   int
		count string
		want  error
	}{
		{0, "10", nil},
		{0, "11", ErrTooManyAttachments},
		{2, "2", nil},
		{2, "3", ErrTooManyAttachments},
		{-1, "10", nil},
	}
	for _, tt := range tests {
		t.Run(tt.count+"/max"+string(rune('0'+tt.max%10)), func(t *testing.T) {
			d := Decoder{MaxAttachments: tt.max}
			p, err := d.Add([]byte(`5`+tt.count+`-["a"]`), false)
			if !errors.Is(err, tt.want) || p != nil {
				t.Fatalf("Add = %v, %v; want nil, %v", p, err, tt.want)
			}
		})
	}
}

func TestDecoderResetAndReuse(t *testing.T) {
	var d Decoder
	if _, err := d.Add([]byte(`51-["a",{"_placeholder":true,"num":0}]`), false); err != nil {
		t.Fatal(err)
	}
	d.Reset()
	if _, err := d.Add([]byte("x"), true); !errors.Is(err, ErrUnexpectedBinary) {
		t.Fatalf("binary after Reset: %v, want ErrUnexpectedBinary", err)
	}
	p, err := d.Add([]byte(`2["b"]`), false)
	if err != nil || p == nil || string(p.Data) != `["b"]` {
		t.Fatalf("text after Reset: %+v, %v", p, err)
	}
}

// TestDecoderOwnsBytes checks that a decoded packet does not alias the
// caller's buffers, which the engine may reuse.
func TestDecoderOwnsBytes(t *testing.T) {
	var d Decoder
	head := []byte(`51-/n,3["a",{"_placeholder":true,"num":0}]`)
	att := []byte("abc")
	if _, err := d.Add(head, false); err != nil {
		t.Fatal(err)
	}
	p, err := d.Add(att, true)
	if err != nil || p == nil {
		t.Fatalf("Add = %v, %v", p, err)
	}
	for i := range head {
		head[i] = 'X'
	}
	copy(att, "XXX")
	if string(p.Data) != `["a",{"_placeholder":true,"num":0}]` || string(p.Attachments[0]) != "abc" || p.Nsp != "/n" {
		t.Fatalf("packet changed with the input buffers: %s %q %q", p.Data, p.Attachments[0], p.Nsp)
	}
}

func TestEncodeHeader(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		want string
	}{
		{"connect", Packet{Type: Connect, ID: NoID}, "0"},
		{"connect slash", Packet{Type: Connect, Nsp: "/", ID: NoID, Data: json.RawMessage(`{"sid":"x"}`)}, `0{"sid":"x"}`},
		{"connect namespace", Packet{Type: Connect, Nsp: "/admin", ID: NoID, Data: json.RawMessage(`{"sid":"x"}`)}, `0/admin,{"sid":"x"}`},
		{"disconnect", Packet{Type: Disconnect, Nsp: "/", ID: NoID}, "1"},
		{"disconnect namespace", Packet{Type: Disconnect, Nsp: "/admin", ID: NoID}, "1/admin,"},
		{"event", Packet{Type: Event, ID: NoID, Data: json.RawMessage(`["a"]`)}, `2["a"]`},
		{"event ack id", Packet{Type: Event, Nsp: "/x", ID: 42, Data: json.RawMessage(`["a"]`)}, `2/x,42["a"]`},
		{"ack", Packet{Type: Ack, Nsp: "/", ID: 0, Data: json.RawMessage(`[]`)}, `30[]`},
		{"connect error", Packet{Type: ConnectError, Nsp: "/n", ID: NoID, Data: json.RawMessage(`{"message":"Invalid namespace"}`)}, `4/n,{"message":"Invalid namespace"}`},
		{"binary event", Packet{Type: BinaryEvent, Nsp: "/", ID: NoID, Data: json.RawMessage(`["a",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}}, `51-["a",{"_placeholder":true,"num":0}]`},
		{"binary ack", Packet{Type: BinaryAck, Nsp: "/n", ID: 7, Data: json.RawMessage(`[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), Attachments: [][]byte{{1}, {2}}}, `62-/n,7[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.p.AppendText(nil)); got != tt.want {
				t.Fatalf("AppendText = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNewEventAndAck(t *testing.T) {
	type quote struct {
		Symbol string  `json:"symbol"`
		Price  float64 `json:"price"`
		Note   string  `json:"note,omitempty"`
	}
	tests := []struct {
		name      string
		build     func() (*Packet, error)
		wantText  string
		wantAtts  []string
		wantError bool
	}{
		{"no args", func() (*Packet, error) { return NewEvent("/", "ping", nil, NoID) }, `2["ping"]`, nil, false},
		{"struct", func() (*Packet, error) {
			return NewEvent("/", "quote", []any{quote{Symbol: "A<B>&", Price: 1.5}}, NoID)
		}, `2["quote",{"symbol":"A<B>&","price":1.5}]`, nil, false},
		{"namespace ack id", func() (*Packet, error) { return NewEvent("/n", "e", []any{1, "x", nil, true}, 3) }, `2/n,3["e",1,"x",null,true]`, nil, false},
		{"binary top level", func() (*Packet, error) { return NewEvent("/", "file", []any{[]byte("ab"), "x"}, NoID) },
			`51-["file",{"_placeholder":true,"num":0},"x"]`, []string{"ab"}, false},
		{"binary nested", func() (*Packet, error) {
			return NewEvent("/", "f", []any{map[string]any{"b": []any{[]byte("1"), []byte("2")}, "a": 1}}, 9)
		}, `52-9["f",{"a":1,"b":[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]}]`, []string{"1", "2"}, false},
		{"binary in Map", func() (*Packet, error) {
			return NewEvent("/", "f", []any{Map{Keys: []string{"z", "a"}, Values: []any{[]byte("x"), 2}}}, NoID)
		}, `51-["f",{"z":{"_placeholder":true,"num":0},"a":2}]`, []string{"x"}, false},
		{"ack", func() (*Packet, error) { return NewAck("/", 4, []any{"ok"}) }, `34["ok"]`, nil, false},
		{"ack no args", func() (*Packet, error) { return NewAck("/n", 0, nil) }, `3/n,0[]`, nil, false},
		{"binary ack", func() (*Packet, error) { return NewAck("/", 1, []any{[]byte{0xff}}) }, `61-1[{"_placeholder":true,"num":0}]`, []string{"\xff"}, false},
		{"unencodable", func() (*Packet, error) { return NewEvent("/", "e", []any{make(chan int)}, NoID) }, "", nil, true},
		{"binary where refused", func() (*Packet, error) {
			_, err := AppendValue(nil, []byte("x"), nil)
			return nil, err
		}, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.build()
			if tt.wantError {
				if err == nil {
					t.Fatalf("want an error, got %s", p.AppendText(nil))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(p.AppendText(nil)); got != tt.wantText {
				t.Fatalf("text = %s, want %s", got, tt.wantText)
			}
			if len(p.Attachments) != len(tt.wantAtts) {
				t.Fatalf("attachments = %d, want %d", len(p.Attachments), len(tt.wantAtts))
			}
			for i, a := range tt.wantAtts {
				if string(p.Attachments[i]) != a {
					t.Fatalf("attachment %d = %q, want %q", i, p.Attachments[i], a)
				}
			}
			// What we encode, our decoder (as Node's) accepts unchanged.
			var d Decoder
			got, err := d.Add(p.AppendText(nil), false)
			for _, a := range p.Attachments {
				if err != nil {
					break
				}
				got, err = d.Add(a, true)
			}
			if err != nil {
				t.Fatalf("decoding our own output: %v", err)
			}
			want := *p
			if want.Nsp == "" {
				want.Nsp = "/"
			}
			assertPacket(t, got, &want)
		})
	}
}

func TestIsReservedEvent(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"connect", true}, {"connect_error", true}, {"disconnect", true}, {"disconnecting", true},
		{"newListener", true}, {"removeListener", true}, {"Connect", false}, {"message", false}, {"", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsReservedEvent(tt.name); got != tt.want {
				t.Fatalf("IsReservedEvent(%q) = %v", tt.name, got)
			}
		})
	}
}
