package socketio

import "testing"

type benchQuote struct {
	Symbol    string  `json:"symbol"`
	Price     float64 `json:"price"`
	Change    float64 `json:"change"`
	Volume    int64   `json:"volume"`
	Timestamp string  `json:"timestamp"`
}

func BenchmarkEncodeEventStruct(b *testing.B) {
	q := benchQuote{Symbol: "AAPL", Price: 187.25, Change: -0.42, Volume: 1234567, Timestamp: "2024-01-02T03:04:05.000Z"}
	args := []any{q}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		p, err := NewEvent("/", "quote:update", args, NoID)
		if err != nil {
			b.Fatal(err)
		}
		buf = p.AppendText(buf[:0])
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	in := []byte(`2["subscribe:watchlist",{"symbols":["AAPL","MSFT","GOOG"],"requestId":"r-17"}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		var d Decoder
		p, err := d.Add(in, false)
		if err != nil || p == nil {
			b.Fatal(err)
		}
		if _, _, err := SplitEvent(p); err != nil {
			b.Fatal(err)
		}
	}
}
