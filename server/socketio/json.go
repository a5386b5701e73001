package socketio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// AppendString appends s as JSON.stringify writes a string: only '"', '\\'
// and control characters are escaped ('<', '>', '&', U+2028 and U+2029 are
// not), with \b \f \n \r \t short forms and lowercase \u00xx for the rest.
// Invalid UTF-8 becomes U+FFFD.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// UTF16Len returns a string's length as JavaScript's String.length counts it,
// in UTF-16 code units.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

type jsonEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoderPool = sync.Pool{New: func() any {
	e := &jsonEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// appendMarshal appends v encoded by encoding/json without HTML escaping.
func appendMarshal(dst []byte, v any) ([]byte, error) {
	e := encoderPool.Get().(*jsonEncoder)
	e.buf.Reset()
	err := e.enc.Encode(v)
	if err == nil {
		b := e.buf.Bytes()
		dst = append(dst, b[:len(b)-1]...) // Encode adds a newline
	}
	if e.buf.Cap() <= 64<<10 {
		encoderPool.Put(e)
	}
	return dst, err
}

// AppendValue appends v as JSON, the way JSON.stringify would write the
// same value: strings with AppendString, json.RawMessage as is, nil as
// null. Binary values ([]byte, not json.RawMessage) anywhere in v's
// generic parts ([]any, map[string]any, Map) are replaced by placeholders
// and collected into *attachments; a nil attachments refuses binary. Other
// types (structs, typed slices and maps) are encoded by encoding/json
// without HTML escaping.
func AppendValue(dst []byte, v any, attachments *[][]byte) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case json.RawMessage:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return append(dst, x...), nil
	case []byte:
		if attachments == nil {
			return dst, fmt.Errorf("socketio: binary value where none is allowed")
		}
		dst = append(dst, `{"_placeholder":true,"num":`...)
		dst = strconv.AppendInt(dst, int64(len(*attachments)), 10)
		*attachments = append(*attachments, x)
		return append(dst, '}'), nil
	case string:
		return AppendString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case float64:
		return appendFloat(dst, x), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = AppendValue(dst, e, attachments); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = AppendValue(dst, x[k], attachments); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case Map:
		return x.appendJSON(dst, attachments)
	}
	if reflect.TypeOf(v).Kind() == reflect.Pointer && reflect.ValueOf(v).IsNil() {
		return append(dst, "null"...), nil
	}
	return appendMarshal(dst, v)
}

// appendFloat writes a number as JavaScript prints it; NaN and the
// infinities become null, as JSON.stringify writes them.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0') // -0 too, as JavaScript writes it
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	abs := math.Abs(f)
	if abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	n := len(dst)
	dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
	// Go writes e-07 / e+21; JavaScript writes e-7 / e+21.
	if i := bytes.IndexByte(dst[n:], 'e'); i >= 0 {
		e := n + i + 2
		if e+1 < len(dst) && dst[e] == '0' {
			dst = append(dst[:e], dst[e+1:]...)
		}
	}
	return dst
}

// Map is a JSON object that keeps its keys in insertion order, as a
// JavaScript object does; use it where the order on the wire matters.
type Map struct {
	Keys   []string
	Values []any
}

// Set appends a key, or replaces its value when present.
func (m *Map) Set(k string, v any) {
	if i := slices.Index(m.Keys, k); i >= 0 {
		m.Values[i] = v
		return
	}
	m.Keys = append(m.Keys, k)
	m.Values = append(m.Values, v)
}

// Get returns the value of k.
func (m Map) Get(k string) (any, bool) {
	if i := slices.Index(m.Keys, k); i >= 0 {
		return m.Values[i], true
	}
	return nil, false
}

func (m Map) appendJSON(dst []byte, attachments *[][]byte) ([]byte, error) {
	dst = append(dst, '{')
	for i, k := range m.Keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = AppendValue(dst, m.Values[i], attachments); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// MarshalJSON encodes m with its keys in order (binary values refused).
func (m Map) MarshalJSON() ([]byte, error) { return m.appendJSON(nil, nil) }
