package socketio

import (
	"bytes"
	"testing"
)

// fuzzMessages splits a fuzz input into Engine.IO messages: they are
// separated by 0x00, and a message that starts with 0x01 is binary (the
// rest of it is the data).
func fuzzMessages(in []byte) []msg {
	var out []msg
	for _, part := range bytes.Split(in, []byte{0}) {
		if len(part) > 0 && part[0] == 1 {
			out = append(out, msg{data: string(part[1:]), binary: true})
			continue
		}
		out = append(out, msg{data: string(part)})
	}
	return out
}

// FuzzDecoder feeds arbitrary sequences of text and binary messages to one
// decoder. It must never panic, and every packet it completes must encode
// back to messages that a fresh decoder accepts as the same packet.
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{
		"0", "0/admin,", `0{"token":"x"}`, "1", "1/a,", `2["a",1]`, `2/n,12["a",{"b":[]}]`, `2[1]`,
		`35["ok"]`, `4{"message":"x"}`, "4abc", "0abc", "0[]", "2{}", `2abc["a"]`, `2"x"`, "2[]",
		`2["disconnect"]`, "51-{}",
		"51-[\"up\",{\"_placeholder\":true,\"num\":0}]\x00\x01\xff\x00",
		"52-/f,9[\"a\",{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]\x00\x01a\x00\x01b",
		"61-3[{\"_placeholder\":true,\"num\":0}]\x00\x01z",
		"511-[\"a\"]", "\x01x", "51-[\"a\"]\x002[\"b\"]",
		"51-[\"a\",{\"_placeholder\":true,\"num\":7}]\x00\x01x",
		"2[\"a\"]\x002[\"b\"]\x003/x,1[]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var d Decoder
		for _, m := range fuzzMessages(in) {
			p, err := d.Add([]byte(m.data), m.binary)
			if err != nil {
				return // the connection would be closed here
			}
			if p == nil {
				continue
			}
			if p.Type > BinaryAck {
				t.Fatalf("type %d", p.Type)
			}
			if (p.Type == BinaryEvent || p.Type == BinaryAck) != (len(p.Attachments) > 0) {
				t.Fatalf("type %d with %d attachments", p.Type, len(p.Attachments))
			}
			var d2 Decoder
			got, err := d2.Add(p.AppendText(nil), false)
			for _, a := range p.Attachments {
				if err != nil {
					break
				}
				got, err = d2.Add(a, true)
			}
			if err != nil {
				t.Fatalf("re-encoded %q refused: %v", p.AppendText(nil), err)
			}
			if got == nil {
				t.Fatalf("re-encoded %q incomplete", p.AppendText(nil))
			}
			if got.Type != p.Type || got.Nsp != p.Nsp || got.ID != p.ID || !bytes.Equal(got.Data, p.Data) || len(got.Attachments) != len(p.Attachments) {
				t.Fatalf("re-encoded %q decodes to %+v, want %+v", p.AppendText(nil), got, p)
			}
			if p.Type == Event || p.Type == BinaryEvent {
				if _, args, err := SplitEvent(p); err == nil {
					if _, err := args.Values(); err != nil {
						t.Fatalf("Values of an accepted event: %v", err)
					}
				}
			}
		}
	})
}
