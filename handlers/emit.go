package handlers

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

// MaxEmitBody is the largest body POST /internal/emit accepts.
const MaxEmitBody = 1 << 20

// emitItem is one item of a POST /internal/emit body.
type emitItem struct {
	UserID json.RawMessage
	Room   json.RawMessage
	Event  json.RawMessage
	Data   json.RawMessage

	notObject bool // the item was not a JSON object
}

// EmitHandler serves POST /internal/emit (EVENTS.md "Producers"): a bearer
// token compared in constant time, one item or an array, every item
// validated before any is emitted, then emitted in order.
func EmitHandler(srv *server.Server, token string) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, apiError{Code: "METHOD_NOT_ALLOWED", Message: "use POST"})
			return
		}
		got := []byte(r.Header.Get("Authorization"))
		if token == "" || subtle.ConstantTimeCompare(got, want) != 1 {
			writeJSON(w, http.StatusUnauthorized, apiError{Code: "UNAUTHORIZED", Message: "missing or wrong token"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEmitBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Code: "PAYLOAD_TOO_LARGE", Message: "request entity too large"})
				return
			}
			writeJSON(w, http.StatusBadRequest, apiError{Code: "INVALID_JSON", Message: "body could not be read"})
			return
		}
		items, err := parseEmitBody(body)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{Code: "INVALID_JSON", Message: err.Error()})
			return
		}
		type target struct {
			room, event string
			data        json.RawMessage
		}
		targets := make([]target, len(items))
		for i, it := range items {
			t, err := validateItem(it)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, apiError{Code: "INVALID_PAYLOAD", Message: fmt.Sprintf("item %d: %v", i, err)})
				return
			}
			targets[i] = target{room: t.room, event: t.event, data: it.Data}
		}
		for _, t := range targets {
			op := srv.Sockets().To()
			if t.room != "" {
				op = srv.To(t.room)
			}
			var args []any
			if t.data != nil {
				args = []any{t.data}
			}
			if err := op.Emit(t.event, args...); err != nil {
				writeJSON(w, http.StatusInternalServerError, apiError{Code: "INTERNAL", Message: "emit failed"})
				return
			}
		}
		writeJSON(w, http.StatusOK, emitOK{OK: true, Emitted: len(targets)})
	})
}

// EmitDisabled answers 404 for /internal/emit when no EMIT_TOKEN is set:
// the endpoint does not exist.
func EmitDisabled() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, apiError{Code: "NOT_FOUND", Message: "emit endpoint disabled"})
	})
}

type apiError struct {
	OK      bool   `json:"ok"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

type emitOK struct {
	OK      bool `json:"ok"`
	Emitted int  `json:"emitted"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func parseEmitBody(body []byte) ([]emitItem, error) {
	// Only JSON's own whitespace may surround the value, as JSON.parse
	// allows (bytes.TrimSpace would take \v or U+0085 too).
	body = bytes.Trim(body, " \t\r\n")
	if !json.Valid(body) {
		return nil, errors.New("body is not valid JSON")
	}
	if len(body) > 0 && body[0] == '[' {
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, errors.New("body is not valid JSON")
		}
		items := make([]emitItem, len(raws))
		for i, raw := range raws {
			items[i] = decodeItem(raw)
		}
		return items, nil
	}
	return []emitItem{decodeItem(body)}, nil
}

// decodeItem reads an item; validateItem refuses one that is not an object.
// Keys are matched exactly, as JavaScript reads item.userId: encoding/json's
// struct decoding would take "UserId" or "EVENT" too.
func decodeItem(raw json.RawMessage) emitItem {
	var m map[string]json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &m) != nil {
		return emitItem{notObject: true}
	}
	return emitItem{UserID: m["userId"], Room: m["room"], Event: m["event"], Data: m["data"]}
}

type resolved struct{ room, event string }

func validateItem(it emitItem) (resolved, error) {
	var r resolved
	if it.notObject {
		return r, errors.New("item must be an object")
	}
	if json.Unmarshal(it.Event, &r.event) != nil || r.event == "" {
		return r, errors.New("event must be a non-empty string")
	}
	if socketio.IsReservedEvent(r.event) {
		return r, fmt.Errorf("reserved event name: %s", r.event)
	}
	if it.UserID != nil && it.Room != nil {
		return r, errors.New("userId and room are exclusive")
	}
	if it.UserID != nil {
		key, ok := userKey(it.UserID)
		if !ok {
			return r, errors.New("userId must be a non-empty string or a number")
		}
		r.room = "user:" + key
	}
	if it.Room != nil {
		if json.Unmarshal(it.Room, &r.room) != nil || r.room == "" {
			return r, errors.New("room must be a non-empty string")
		}
	}
	return r, nil
}

// userKey returns JavaScript's String(userId) for a string or a finite
// number.
func userKey(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, s != ""
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || strings.ContainsAny(string(raw), "\"") {
		return "", false
	}
	v, _ := socketio.AppendValue(nil, f, nil)
	return string(v), true
}
