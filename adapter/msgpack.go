package adapter

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tradedash/realtime/server/socketio"
	"github.com/vmihailenco/msgpack/v5"
)

// The values this file decodes msgpack into are the JavaScript values
// notepack.io 3 would produce, already in the form JSON.stringify would write
// them: nil (null), bool, float64 (every number), string, []byte (a Buffer
// or ArrayBuffer), []any and socketio.Map (an object, keys in JavaScript's
// own order). Dates become their ISO string, undefined becomes null in
// arrays and is left out of objects.

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("adapter: malformed message")

// maxDepth bounds the nesting of a decoded message (JavaScript would blow
// its stack somewhat deeper; nothing legitimate comes close).
const maxDepth = 256

// undefined is notepack's legacy fixext encoding of undefined.
type undefinedValue struct{}

type mpDecoder struct {
	b   []byte
	off int
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// decodeMsgpack decodes one msgpack value that must span all of b.
func decodeMsgpack(b []byte) (any, error) {
	d := mpDecoder{b: b}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.off != len(b) {
		return nil, malformed("%d trailing bytes", len(b)-d.off)
	}
	if _, ok := v.(undefinedValue); ok {
		return nil, nil
	}
	return v, nil
}

func (d *mpDecoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.off {
		return nil, malformed("truncated at %d (need %d bytes)", d.off, n)
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s, nil
}

func (d *mpDecoder) uint(n int) (uint64, error) {
	s, err := d.take(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range s {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

func (d *mpDecoder) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, malformed("nested deeper than %d", maxDepth)
	}
	c, err := d.take(1)
	if err != nil {
		return nil, err
	}
	code := c[0]
	switch {
	case code < 0x80:
		return float64(code), nil
	case code < 0x90:
		return d.object(int(code&0x0f), depth)
	case code < 0xa0:
		return d.array(int(code&0x0f), depth)
	case code < 0xc0:
		return d.str(int(code & 0x1f))
	case code > 0xdf:
		return float64(int8(code)), nil
	}
	lenOf := func(n int) (int, error) {
		v, err := d.uint(n)
		if err != nil {
			return 0, err
		}
		if v > uint64(len(d.b)) {
			return 0, malformed("length %d past the message end", v)
		}
		return int(v), nil
	}
	switch code {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := lenOf(1 << (code - 0xc4))
		if err != nil {
			return nil, err
		}
		return d.bin(n)
	case 0xc7, 0xc8, 0xc9:
		n, err := lenOf(1 << (code - 0xc7))
		if err != nil {
			return nil, err
		}
		t, err := d.take(1)
		if err != nil {
			return nil, err
		}
		return d.ext(int8(t[0]), n, code == 0xc7)
	case 0xca:
		v, err := d.uint(4)
		return float64(math.Float32frombits(uint32(v))), err
	case 0xcb:
		v, err := d.uint(8)
		return math.Float64frombits(v), err
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := d.uint(1 << (code - 0xcc))
		return float64(v), err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (code - 0xd0)
		v, err := d.uint(n)
		shift := 64 - 8*n
		return float64(int64(v<<shift) >> shift), err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		t, err := d.take(1)
		if err != nil {
			return nil, err
		}
		return d.fixext(int8(t[0]), 1<<(code-0xd4))
	case 0xd9, 0xda, 0xdb:
		n, err := lenOf(1 << (code - 0xd9))
		if err != nil {
			return nil, err
		}
		return d.str(n)
	case 0xdc, 0xdd:
		n, err := lenOf(2 << (code - 0xdc))
		if err != nil {
			return nil, err
		}
		return d.array(n, depth)
	case 0xde, 0xdf:
		n, err := lenOf(2 << (code - 0xde))
		if err != nil {
			return nil, err
		}
		return d.object(n, depth)
	}
	return nil, malformed("unknown code 0x%02x at %d", code, d.off-1)
}

func (d *mpDecoder) str(n int) (any, error) {
	s, err := d.take(n)
	if err != nil {
		return nil, err
	}
	// Buffer.toString("utf8") replaces invalid sequences with U+FFFD.
	return strings.ToValidUTF8(string(s), "\ufffd"), nil
}

func (d *mpDecoder) bin(n int) ([]byte, error) {
	s, err := d.take(n)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(s), nil
}

func (d *mpDecoder) ext(t int8, n int, ext8 bool) (any, error) {
	switch {
	case t == 0: // notepack's legacy ArrayBuffer
		return d.bin(n)
	case t == -1 && ext8: // timestamp 96: notepack reads 12 bytes whatever the length says
		if n != 12 {
			return nil, malformed("timestamp 96 of length %d", n)
		}
		ns, _ := d.uint(4)
		s, err := d.uint(8)
		if err != nil {
			return nil, err
		}
		return dateString(float64(int64(s))*1e3 + float64(ns)/1e6), nil
	}
	b, err := d.bin(n)
	return []any{float64(t), b}, err
}

func (d *mpDecoder) fixext(t int8, n int) (any, error) {
	switch {
	case n == 1 && t == 0:
		if _, err := d.take(1); err != nil {
			return nil, err
		}
		return undefinedValue{}, nil
	case n == 4 && t == -1:
		s, err := d.uint(4)
		return dateString(float64(s) * 1e3), err
	case n == 8 && t == 0: // notepack's legacy date: int64 milliseconds
		v, err := d.uint(8)
		return dateString(float64(int64(v))), err
	case n == 8 && t == -1:
		v, err := d.uint(8)
		s := float64(v&0x3ffffffff) * 1e3
		return dateString(s + float64(v>>34)/1e6), err
	}
	b, err := d.bin(n)
	return []any{float64(t), b}, err
}

// dateString is JSON.stringify of new Date(ms): its ISO form, or null when
// the date is invalid.
func dateString(ms float64) any {
	ms = math.Trunc(ms) // the Date constructor's TimeClip
	if math.IsNaN(ms) || math.Abs(ms) > 8.64e15 {
		return nil
	}
	t := time.UnixMilli(int64(ms)).UTC()
	y := t.Year()
	switch {
	case y >= 0 && y <= 9999:
		return t.Format("2006-01-02T15:04:05.000Z")
	case y < 0:
		return fmt.Sprintf("-%06d", -y) + t.Format("-01-02T15:04:05.000Z")
	default:
		return fmt.Sprintf("+%06d", y) + t.Format("-01-02T15:04:05.000Z")
	}
}

func (d *mpDecoder) array(n int, depth int) (any, error) {
	if n > len(d.b)-d.off {
		return nil, malformed("array of %d past the message end", n)
	}
	out := make([]any, n)
	for i := range out {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, ok := v.(undefinedValue); ok {
			v = nil // JSON.stringify writes undefined in an array as null
		}
		out[i] = v
	}
	return out, nil
}

func (d *mpDecoder) object(n int, depth int) (any, error) {
	if 2*n > len(d.b)-d.off {
		return nil, malformed("map of %d past the message end", n)
	}
	m := socketio.Map{}
	var undef []string
	for range n {
		k, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		key := jsKey(k)
		if key == "__proto__" { // sets the prototype, never an own key
			continue
		}
		m.Set(key, v)
		if _, ok := v.(undefinedValue); ok {
			undef = append(undef, key)
		} else if i := slices.Index(undef, key); i >= 0 {
			undef = slices.Delete(undef, i, i+1)
		}
	}
	for _, k := range undef { // JSON.stringify leaves undefined members out
		i := slices.Index(m.Keys, k)
		m.Keys = slices.Delete(m.Keys, i, i+1)
		m.Values = slices.Delete(m.Values, i, i+1)
	}
	return jsOrder(m), nil
}

// jsKey is String(k), the property key JavaScript makes of a decoded key.
func jsKey(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case float64:
		return jsNumber(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	case undefinedValue:
		return "undefined"
	case []byte:
		return strings.ToValidUTF8(string(x), "\ufffd")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e != nil {
				parts[i] = jsKey(e)
			}
		}
		return strings.Join(parts, ",")
	}
	return "[object Object]"
}

// jsNumber is Number.prototype.toString.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	b, _ := socketio.AppendValue(nil, f, nil)
	return string(b)
}

// jsOrder puts an object's keys in the order JavaScript enumerates them:
// array indexes first, ascending, then the other keys as inserted.
func jsOrder(m socketio.Map) socketio.Map {
	idx := 0
	for _, k := range m.Keys {
		if _, ok := arrayIndex(k); ok {
			idx++
		}
	}
	if idx == 0 {
		return m
	}
	type kv struct {
		k string
		n uint32
		v any
	}
	ints := make([]kv, 0, idx)
	out := socketio.Map{Keys: make([]string, 0, len(m.Keys)), Values: make([]any, 0, len(m.Keys))}
	for i, k := range m.Keys {
		if n, ok := arrayIndex(k); ok {
			ints = append(ints, kv{k, n, m.Values[i]})
		}
	}
	slices.SortFunc(ints, func(a, b kv) int { return int(int64(a.n) - int64(b.n)) })
	for _, e := range ints {
		out.Keys = append(out.Keys, e.k)
		out.Values = append(out.Values, e.v)
	}
	for i, k := range m.Keys {
		if _, ok := arrayIndex(k); !ok {
			out.Keys = append(out.Keys, k)
			out.Values = append(out.Values, m.Values[i])
		}
	}
	return out
}

// arrayIndex reports whether k is a canonical array index (0 .. 2^32-2).
func arrayIndex(k string) (uint32, bool) {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(k, 10, 32)
	if err != nil || n == math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

// encodeMsgpack encodes v as notepack.io encodes the same JavaScript value:
// integral numbers in the smallest integer format, other numbers as float
// 64, []byte as bin, socketio.Map in its key order.
func encodeMsgpack(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	if err := encodeValue(enc, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encodeValue(e *msgpack.Encoder, v any) error {
	switch x := v.(type) {
	case nil:
		return e.EncodeNil()
	case bool:
		return e.EncodeBool(x)
	case string:
		return e.EncodeString(x)
	case int:
		return e.EncodeInt(int64(x))
	case int64:
		return e.EncodeInt(x)
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) && math.Abs(x) < 1<<63 {
			return e.EncodeInt(int64(x))
		}
		return e.EncodeFloat64(x)
	case []byte:
		if err := e.EncodeBytesLen(len(x)); err != nil {
			return err
		}
		_, err := e.Writer().Write(x)
		return err
	case []string:
		if err := e.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, s := range x {
			if err := e.EncodeString(s); err != nil {
				return err
			}
		}
		return nil
	case []any:
		if err := e.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, el := range x {
			if err := encodeValue(e, el); err != nil {
				return err
			}
		}
		return nil
	case socketio.Map:
		if err := e.EncodeMapLen(len(x.Keys)); err != nil {
			return err
		}
		for i, k := range x.Keys {
			if err := e.EncodeString(k); err != nil {
				return err
			}
			if err := encodeValue(e, x.Values[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("adapter: cannot encode %T as msgpack", v)
}
