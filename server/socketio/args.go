package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/tradedash/realtime/internal/jsonscan"
)

// Args are the arguments of a received event or ack. An event's name is
// not among them.
type Args struct {
	Raw         []json.RawMessage
	Attachments [][]byte
}

// ErrNoEventName is returned for an event packet whose first element is not
// a name.
var ErrNoEventName = errors.New("socketio: event without a name")

// SplitEvent splits an event packet's data into its name and arguments.
func SplitEvent(p *Packet) (string, Args, error) {
	all, ok := p.split()
	if !ok || len(all) == 0 {
		return "", Args{}, ErrInvalidPayload
	}
	var name string
	if all[0][0] == '"' {
		if name, ok = jsonscan.Unquote(all[0]); !ok {
			return "", Args{}, ErrNoEventName
		}
	} else {
		// A numeric event name, as JavaScript turns it into a key.
		var f float64
		if err := json.Unmarshal(all[0], &f); err != nil {
			return "", Args{}, ErrNoEventName
		}
		name = string(appendFloat(nil, f))
	}
	return name, Args{Raw: all[1:], Attachments: p.Attachments}, nil
}

// split returns the elements of p's JSON array, checking the JSON unless
// the Decoder did.
func (p *Packet) split() ([]json.RawMessage, bool) {
	if p.checked {
		return jsonscan.SplitValid(p.Data)
	}
	return jsonscan.SplitArray(p.Data)
}

// SplitAck returns an ack packet's arguments.
func SplitAck(p *Packet) (Args, error) {
	var all []json.RawMessage
	if len(p.Data) > 0 {
		var ok bool
		if all, ok = p.split(); !ok {
			return Args{}, ErrInvalidPayload
		}
	}
	return Args{Raw: all, Attachments: p.Attachments}, nil
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.Raw) }

// Decode decodes argument i into v. A missing argument leaves v as it is
// and returns nil, as JavaScript's undefined. An attachment decodes into a
// *[]byte.
func (a Args) Decode(i int, v any) error {
	if i >= len(a.Raw) {
		return nil
	}
	raw := a.Raw[i]
	if len(a.Attachments) > 0 {
		if bp, ok := v.(*[]byte); ok {
			if b, ok := a.attachment(raw); ok {
				*bp = b
				return nil
			}
		}
		if ap, ok := v.(*any); ok {
			val, err := a.Value(i)
			*ap = val
			return err
		}
	}
	return json.Unmarshal(raw, v)
}

func (a Args) attachment(raw json.RawMessage) ([]byte, bool) {
	if firstByte(raw) != '{' || !bytes.Contains(raw, []byte(`"_placeholder"`)) {
		return nil, false
	}
	var ph struct {
		Placeholder bool `json:"_placeholder"`
		Num         *int `json:"num"`
	}
	if json.Unmarshal(raw, &ph) != nil || !ph.Placeholder || ph.Num == nil || *ph.Num < 0 || *ph.Num >= len(a.Attachments) {
		return nil, false
	}
	return a.Attachments[*ph.Num], true
}

// Value returns argument i as a generic value that encodes back to the
// same JSON: objects as Map (keys in order), arrays as []any, numbers as
// float64, attachments as []byte.
func (a Args) Value(i int) (any, error) {
	if i >= len(a.Raw) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(a.Raw[i]))
	dec.UseNumber()
	v, err := a.decodeValue(dec)
	if err != nil {
		return nil, fmt.Errorf("socketio: argument %d: %w", i, err)
	}
	return v, nil
}

// Values returns every argument as Value does.
func (a Args) Values() ([]any, error) {
	out := make([]any, len(a.Raw))
	for i := range a.Raw {
		v, err := a.Value(i)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (a Args) decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := a.decodeValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		case '{':
			m := Map{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := a.decodeValue(dec)
				if err != nil {
					return nil, err
				}
				m.Set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			if ph, ok := m.Get("_placeholder"); ok && ph == true && len(a.Attachments) > 0 {
				if n, ok := m.Get("num"); ok {
					if f, ok := n.(float64); ok && f >= 0 && f < float64(len(a.Attachments)) && f == float64(int(f)) {
						return a.Attachments[int(f)], nil
					}
				}
			}
			return m, nil
		}
	case json.Number:
		f, err := t.Float64()
		return f, err
	case string, bool, nil:
		return t, nil
	}
	return nil, io.ErrUnexpectedEOF
}

// NewEvent builds an event packet ["event", args...]. Binary values among
// the args (see AppendValue) make it a BinaryEvent with attachments.
func NewEvent(nsp, event string, args []any, id int64) (*Packet, error) {
	data, atts, err := encodeArray(AppendString(make([]byte, 0, 64), event), true, args)
	if err != nil {
		return nil, err
	}
	t := Event
	if len(atts) > 0 {
		t = BinaryEvent
	}
	return &Packet{Type: t, Nsp: nsp, ID: id, Data: data, Attachments: atts}, nil
}

// NewAck builds an ack packet for id carrying args.
func NewAck(nsp string, id int64, args []any) (*Packet, error) {
	data, atts, err := encodeArray(nil, false, args)
	if err != nil {
		return nil, err
	}
	t := Ack
	if len(atts) > 0 {
		t = BinaryAck
	}
	return &Packet{Type: t, Nsp: nsp, ID: id, Data: data, Attachments: atts}, nil
}

func encodeArray(first []byte, hasFirst bool, args []any) ([]byte, [][]byte, error) {
	var atts [][]byte
	data := make([]byte, 0, len(first)+64)
	data = append(data, '[')
	data = append(data, first...)
	for i, arg := range args {
		if hasFirst || i > 0 {
			data = append(data, ',')
		}
		var err error
		if data, err = AppendValue(data, arg, &atts); err != nil {
			return nil, nil, err
		}
	}
	return append(data, ']'), atts, nil
}
