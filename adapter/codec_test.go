package adapter

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

// notepackCase is one message of testdata/notepack.json, made by Node's
// notepack.io (see testdata/notepack.js for how).
type notepackCase struct {
	Hex         string   `json:"hex"`
	ClientText  *string  `json:"clientText"`
	Attachments []string `json:"attachments"`
}

func loadNotepack(t *testing.T) map[string]notepackCase {
	t.Helper()
	b, err := os.ReadFile("testdata/notepack.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases map[string]notepackCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seq(n, start int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i + start)
	}
	return b
}

func event(t *testing.T, nsp, name string, args ...any) *socketio.Packet {
	t.Helper()
	p, err := socketio.NewEvent(nsp, name, args, socketio.NoID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func broadcastBytes(t *testing.T, p *socketio.Packet, nsp string, opts server.BroadcastOptions) []byte {
	t.Helper()
	pv, err := packetValue(p, nsp)
	if err != nil {
		t.Fatal(err)
	}
	b, err := encodeMsgpack([]any{"abc123", pv, optionsValue(opts, true)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncodeMatchesNotepack: what we publish is byte for byte what Node's
// adapter publishes for the same emit.
func TestEncodeMatchesNotepack(t *testing.T) {
	cases := loadNotepack(t)
	ints := []any{0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740991,
		-1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -9007199254740991}
	floats := []any{1.5, -0.25, 1.5e-7, 5e-324, 0.1, math.Copysign(0, -1), 4503599627370495.5}
	strs := []any{strings.Repeat("x", 31), strings.Repeat("y", 32), strings.Repeat("z", 255), strings.Repeat("w", 256), "é€😀", ""}
	bigMap := socketio.Map{}
	for i := range 17 {
		bigMap.Set("k"+jsNumber(float64(i)), i)
	}
	twenty := make([]any, 20)
	for i := range twenty {
		twenty[i] = i
	}
	tests := []struct {
		name string
		got  func(t *testing.T) []byte
	}{
		{"broadcast_all", func(t *testing.T) []byte {
			return broadcastBytes(t, event(t, "/", "tick", socketio.Map{Keys: []string{"symbol", "price", "qty"}, Values: []any{"AAPL", 187.25, 10}}), "/", server.BroadcastOptions{})
		}},
		{"broadcast_room_except", func(t *testing.T) []byte {
			return broadcastBytes(t, event(t, "/", "news", "hello", 42), "/", server.BroadcastOptions{
				Rooms: []string{"room1", "room2"}, Except: []string{"x", "x"}, Flags: server.BroadcastFlags{Volatile: true, NoCompress: true}})
		}},
		{"broadcast_binary", func(t *testing.T) []byte {
			return broadcastBytes(t, event(t, "/admin", "file", seq(3, 0), socketio.Map{Keys: []string{"inner", "big"}, Values: []any{[]byte{}, seq(300, 7)}}), "/admin", server.BroadcastOptions{Rooms: []string{"r"}})
		}},
		{"numbers", func(t *testing.T) []byte {
			return broadcastBytes(t, event(t, "/", "n", ints, floats), "/", server.BroadcastOptions{})
		}},
		{"strings", func(t *testing.T) []byte {
			return broadcastBytes(t, event(t, "/", "s", strs...), "/", server.BroadcastOptions{})
		}},
		{"big_collections", func(t *testing.T) []byte {
			return broadcastBytes(t, event(t, "/", "c", twenty, bigMap), "/", server.BroadcastOptions{})
		}},
		{"ack_request", func(t *testing.T) []byte {
			pv, _ := packetValue(event(t, "/", "ask", socketio.Map{Keys: []string{"q"}, Values: []any{1}}), "/")
			b, err := encodeMsgpack(socketio.Map{
				Keys:   []string{"uid", "requestId", "type", "packet", "opts"},
				Values: []any{"abc123", "req001", float64(reqBroadcast), pv, optionsValue(server.BroadcastOptions{Flags: server.BroadcastFlags{Timeout: time.Second}}, true)},
			})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"ack_response", func(t *testing.T) []byte {
			ans := argsOf(socketio.Map{Keys: []string{"answer", "ok"}, Values: []any{seq(2, 0), true}})
			b, err := encodeMsgpack(socketio.Map{
				Keys:   []string{"type", "requestId", "packet"},
				Values: []any{float64(reqBroadcastAck), "req001", firstArg(ans)},
			})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, ok := cases[tc.name]
			if !ok {
				t.Fatalf("no case %s in testdata", tc.name)
			}
			if got := hex.EncodeToString(tc.got(t)); got != want.Hex {
				t.Errorf("encoding differs from notepack\n got %s\nwant %s", got, want.Hex)
			}
		})
	}
}

// TestDecodeNotepack: what a client gets for a message Node published is
// what a Node instance would send it, text and attachments.
func TestDecodeNotepack(t *testing.T) {
	for name, tc := range loadNotepack(t) {
		if tc.ClientText == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			v, err := decodeMsgpack(mustHex(t, tc.Hex))
			if err != nil {
				t.Fatal(err)
			}
			var pv any
			switch x := v.(type) {
			case []any:
				pv = x[1]
			case socketio.Map:
				pv = field(x, "packet")
			}
			nsp, _ := fieldString(pv.(socketio.Map), "nsp")
			p, err := packetFromValue(pv, nsp)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(p.AppendText(nil)); got != *tc.ClientText {
				t.Errorf("client text\n got %s\nwant %s", got, *tc.ClientText)
			}
			if len(p.Attachments) != len(tc.Attachments) {
				t.Fatalf("%d attachments, want %d", len(p.Attachments), len(tc.Attachments))
			}
			for i, a := range p.Attachments {
				if hex.EncodeToString(a) != tc.Attachments[i] {
					t.Errorf("attachment %d = %x, want %s", i, a, tc.Attachments[i])
				}
			}
		})
	}
}

// TestDecodeEdges covers encodings notepack decodes but no longer makes,
// and malformed input.
func TestDecodeEdges(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		json string // "" when an error is expected
	}{
		{"legacy undefined in array", "92d40000c0", "[null,null]"},
		{"legacy undefined member dropped", "82a161d40000a162c3", `{"b":true}`},
		{"undefined member set again", "83a16101a161d40000a16102", `{"a":2}`},
		{"proto key ignored", "82a95f5f70726f746f5f5f01a16102", `{"a":2}`},
		{"integer keys", "8201a1610001", `{"0":1,"1":"a"}`},
		{"float32", "ca3fc00000", "1.5"},
		{"timestamp32", "d6ff00000000", `"1970-01-01T00:00:00.000Z"`},
		{"legacy date", "d7000000000000000001", `"1970-01-01T00:00:00.001Z"`},
		{"ext as [type, bin]", "d50501ff", `[5,{"_placeholder":true,"num":0}]`},
		{"legacy arraybuffer", "c70200abcd", `{"_placeholder":true,"num":0}`},
		{"invalid utf8", "a3ff6162", "\"\ufffdab\""},
		{"truncated", "92a1", ""},
		{"trailing bytes", "c0c0", ""},
		{"unknown code", "c1", ""},
		{"huge array length", "ddffffffff", ""},
		{"huge map length", "dfffffffff", ""},
		{"bad timestamp96", "c702ff0000", ""},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decodeMsgpack(mustHex(t, tc.hex))
			if tc.json == "" {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var atts [][]byte
			b, err := socketio.AppendValue(nil, v, &atts)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.json {
				t.Errorf("got %s, want %s", b, tc.json)
			}
		})
	}
	t.Run("deep nesting", func(t *testing.T) {
		b := []byte(strings.Repeat("\x91", 10000) + "\xc0")
		if _, err := decodeMsgpack(b); !errors.Is(err, ErrMalformed) {
			t.Fatalf("err = %v", err)
		}
	})
}

// FuzzDecode: no input crashes the decoders of Redis messages; whatever
// decodes re-encodes.
func FuzzDecode(f *testing.F) {
	b, err := os.ReadFile("testdata/notepack.json")
	if err == nil {
		var cases map[string]notepackCase
		if json.Unmarshal(b, &cases) == nil {
			for _, c := range cases {
				if raw, err := hex.DecodeString(c.Hex); err == nil {
					f.Add(raw)
				}
			}
		}
	}
	f.Add([]byte(`{"uid":"x","type":5,"requestId":"r","opts":{"rooms":["a"],"except":[]}}`))
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, err := decodeMsgpack(data); err == nil {
			if _, err := encodeMsgpack(v); err != nil {
				t.Fatalf("decoded %T does not re-encode: %v", v, err)
			}
			var atts [][]byte
			if _, err := socketio.AppendValue(nil, v, &atts); err != nil {
				t.Fatalf("decoded value does not encode as JSON: %v", err)
			}
			if arr, ok := v.([]any); ok && len(arr) == 3 {
				_, _ = packetFromValue(arr[1], "/")
			}
		}
		if m, err := decodeWire(data); err == nil {
			_ = wireOptions(m)
			_, _ = socketInfoOf(m)
			_, _ = packetFromValue(field(m, "packet"), "/")
		}
	})
}
