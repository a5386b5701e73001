package wsframe

import "testing"

func TestPayloadLength(t *testing.T) {
	cases := []struct {
		b   []byte
		hdr int
		n   uint64
		ok  bool
	}{
		{[]byte{0x81}, 0, 0, false},
		{[]byte{0x81, 0x05}, 2, 5, true},
		{[]byte{0x81, 0x85}, 2, 5, true}, // masked: the mask bit is not length
		{[]byte{0x81, 126, 0x01}, 0, 0, false},
		{[]byte{0x81, 126, 0x01, 0x00}, 4, 256, true},
		{[]byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0}, 0, 0, false},
		{[]byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}, 10, 65536, true},
	}
	for _, tc := range cases {
		hdr, n, ok := PayloadLength(tc.b)
		if hdr != tc.hdr || n != tc.n || ok != tc.ok {
			t.Errorf("PayloadLength(%x) = %d %d %v, want %d %d %v", tc.b, hdr, n, ok, tc.hdr, tc.n, tc.ok)
		}
	}
}

func TestAppendHeaderRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 0xffff, 0x10000, 1 << 20} {
		for _, masked := range []bool{false, true} {
			h := AppendHeader(nil, true, 0x2, n, masked)
			if h[0] != 0x82 || (h[1]&0x80 != 0) != masked {
				t.Fatalf("n=%d masked=%v: header %x", n, masked, h)
			}
			hdr, got, ok := PayloadLength(h)
			if !ok || hdr != len(h) || got != uint64(n) {
				t.Fatalf("n=%d: PayloadLength(%x) = %d %d %v", n, h, hdr, got, ok)
			}
		}
	}
	if h := AppendHeader(nil, false, 0x1, 3, false); h[0] != 0x01 {
		t.Fatalf("not final: %x", h)
	}
}

// TestAppendAccept: the example of RFC 6455 section 1.3.
func TestAppendAccept(t *testing.T) {
	if got := string(AppendAccept([]byte("x"), "dGhlIHNhbXBsZSBub25jZQ==")); got != "xs3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("got %q", got)
	}
}
