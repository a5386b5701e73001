package engineio

import (
	"bytes"
	"errors"
	"testing"
)

func TestEncodePayload(t *testing.T) {
	tests := []struct {
		name string
		in   []*Packet
		want string
	}{
		{"open", []*Packet{{Type: Open, Data: []byte(`{"sid":"x"}`)}}, `0{"sid":"x"}`},
		{"ping", []*Packet{{Type: Ping}}, "2"},
		{"noop", []*Packet{{Type: Noop}}, "6"},
		{"message", []*Packet{NewMessage([]byte("hello é"), false)}, "4hello é"},
		{"separator between packets", []*Packet{{Type: Ping}, NewMessage([]byte("a"), false), {Type: Close}}, "2\x1e4a\x1e1"},
		{"binary as b+base64", []*Packet{NewMessage([]byte{1, 2, 3, 0xff}, true)}, "bAQID/w=="},
		{"empty binary", []*Packet{NewMessage(nil, true)}, "b"},
		{"mixed", []*Packet{NewMessage([]byte("x"), false), NewMessage([]byte{0}, true)}, "4x\x1ebAA=="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(encodePayload([]byte{}, tt.in)); got != tt.want {
				t.Fatalf("encodePayload = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodePayload(t *testing.T) {
	type pk struct {
		t      PacketType
		data   string
		binary bool
	}
	tests := []struct {
		name    string
		in      string
		want    []pk
		wantErr bool
	}{
		{"message", "4hello", []pk{{Message, "hello", false}}, false},
		{"several", "4a\x1e3\x1e4b", []pk{{Message, "a", false}, {Pong, "", false}, {Message, "b", false}}, false},
		{"close", "1", []pk{{Close, "", false}}, false},
		{"empty message", "4", []pk{{Message, "", false}}, false},
		{"binary padded", "bAQID/w==", []pk{{Message, "\x01\x02\x03\xff", true}}, false},
		{"binary unpadded", "bAQID/w", []pk{{Message, "\x01\x02\x03\xff", true}}, false},
		{"binary url-safe", "bAQID_w", []pk{{Message, "\x01\x02\x03\xff", true}}, false},
		{"binary empty", "b", []pk{{Message, "", true}}, false},
		{"text then binary", "4x\x1ebAA==", []pk{{Message, "x", false}, {Message, "\x00", true}}, false},
		{"empty body", "", nil, true},
		{"abc", "abc", nil, true},
		{"unknown type 7", "7", nil, true},
		{"bad base64", "b!!!", nil, true},
		{"trailing separator", "4a\x1e", []pk{{Message, "a", false}}, true},
		{"good then bad", "4a\x1e4b\x1ezz\x1e4c", []pk{{Message, "a", false}, {Message, "b", false}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodePayload([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrParse) {
				t.Fatalf("err = %v, want ErrParse", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d packets, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].Type != w.t || string(got[i].Data) != w.data || got[i].Binary != w.binary {
					t.Fatalf("packet %d = %c %q %v, want %c %q %v", i, got[i].Type, got[i].Data, got[i].Binary, w.t, w.data, w.binary)
				}
			}
		})
	}
}

// FuzzDecodePayload: decoding never panics, and the packets it returns
// encode back to a payload that decodes to the same packets.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4a\x1e3\x1e4b", "bAQID/w==", "bAQID_w", "b", "abc", "", "4a\x1e", "2probe", "1", "6\x1e6", "b!!!", "5\x1e4\x1e"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		pkts, err := decodePayload(in)
		if err != nil && !errors.Is(err, ErrParse) {
			t.Fatalf("error %v is not ErrParse", err)
		}
		if len(pkts) == 0 {
			return
		}
		out := make([]*Packet, len(pkts))
		for i, p := range pkts {
			if p.Binary && p.Type != Message {
				t.Fatalf("binary packet of type %c", p.Type)
			}
			out[i] = &Packet{Type: p.Type, Data: p.Data, Binary: p.Binary}
		}
		enc := encodePayload(nil, out)
		back, err := decodePayload(enc)
		if err != nil && !bytes.ContainsRune(enc, recordSeparator) {
			t.Fatalf("re-encoded %q: %v", enc, err)
		}
		if err != nil {
			// A text packet whose data holds a record separator cannot
			// be told apart; only the packets up to it must agree.
			return
		}
		if len(back) != len(pkts) {
			t.Fatalf("%q -> %q -> %d packets, want %d", in, enc, len(back), len(pkts))
		}
		for i := range back {
			if back[i].Type != pkts[i].Type || back[i].Binary != pkts[i].Binary || !bytes.Equal(back[i].Data, pkts[i].Data) {
				t.Fatalf("packet %d: %+v, want %+v", i, back[i], pkts[i])
			}
		}
	})
}
