package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestAuthenticateSemantics(t *testing.T) {
	const secret = "s1"
	mem := NewMemoryStore(MemoryConfig{})
	strSID := mem.Create("u1", "Alice", "admin", time.Hour)
	numSID := mem.Create(123, "", "", time.Hour)
	str123 := mem.Create("123", "", "", time.Hour)
	a := New(Config{Store: mem, Secrets: []string{secret}})
	cookie := func(v string) http.Header { return http.Header{"Cookie": {"connect.sid=" + url.QueryEscape(v)}} }

	tests := []struct {
		name    string
		auth    string
		header  http.Header
		want    Identity
		wantErr error
	}{
		{"raw sid", `{"sessionID":"` + strSID + `","userId":"u1"}`, nil,
			Identity{UserID: "u1", UserKey: "u1", UserName: "Alice", UserRole: "admin", SessionID: strSID}, nil},
		{"signed sid", `{"sessionID":"` + Sign(strSID, secret) + `","userId":"u1"}`, nil,
			Identity{UserID: "u1", UserKey: "u1", UserName: "Alice", UserRole: "admin", SessionID: strSID}, nil},
		{"number user, defaults", `{"sessionID":"` + numSID + `","userId":123}`, nil,
			Identity{UserID: 123.0, UserKey: "123", UserName: "User", UserRole: "user", SessionID: numSID}, nil},
		{"number user as 123.0", `{"sessionID":"` + numSID + `","userId":1.23e2}`, nil,
			Identity{UserID: 123.0, UserKey: "123", UserName: "User", UserRole: "user", SessionID: numSID}, nil},
		{"number session, string userId", `{"sessionID":"` + numSID + `","userId":"123"}`, nil, Identity{}, ErrInvalidSession},
		{"string session, number userId", `{"sessionID":"` + str123 + `","userId":123}`, nil, Identity{}, ErrInvalidSession},
		{"object userId", `{"sessionID":"` + strSID + `","userId":{"id":"u1"}}`, nil, Identity{}, ErrInvalidSession},
		{"wrong user", `{"sessionID":"` + strSID + `","userId":"u2"}`, nil, Identity{}, ErrInvalidSession},
		{"unknown sid", `{"sessionID":"nope","userId":"u1"}`, nil, Identity{}, ErrInvalidSession},
		{"bad signature", `{"sessionID":"` + Sign(strSID, "other") + `","userId":"u1"}`, nil, Identity{}, ErrInvalidSession},
		{"sessionID not a string", `{"sessionID":5,"userId":"u1"}`, nil, Identity{}, ErrInvalidSession},
		{"duplicate keys: the last wins", `{"sessionID":"nope","userId":"u2","sessionID":"` + strSID + `","userId":"u1"}`, nil,
			Identity{UserID: "u1", UserKey: "u1", UserName: "Alice", UserRole: "admin", SessionID: strSID}, nil},
		{"escaped keys", `{"session\u0049D":"` + strSID + `","user\u0049d":"u1"}`, nil,
			Identity{UserID: "u1", UserKey: "u1", UserName: "Alice", UserRole: "admin", SessionID: strSID}, nil},
		{"keys are case-sensitive", `{"SessionID":"` + strSID + `","userid":"u1"}`, nil, Identity{}, ErrMissingCredentials},
		{"invalid JSON", `{"sessionID":"` + strSID + `","userId":"u1"`, nil, Identity{}, ErrMissingCredentials},
		{"empty auth", `{}`, nil, Identity{}, ErrMissingCredentials},
		{"no auth at all", ``, nil, Identity{}, ErrMissingCredentials},
		{"auth not an object", `["x"]`, nil, Identity{}, ErrMissingCredentials},
		{"no userId", `{"sessionID":"` + strSID + `"}`, nil, Identity{}, ErrMissingCredentials},
		{"userId 0", `{"sessionID":"` + strSID + `","userId":0}`, nil, Identity{}, ErrMissingCredentials},
		{"userId false", `{"sessionID":"` + strSID + `","userId":false}`, nil, Identity{}, ErrMissingCredentials},
		{"userId empty", `{"sessionID":"` + strSID + `","userId":""}`, nil, Identity{}, ErrMissingCredentials},
		{"cookie fallback: absent", `{"userId":"u1"}`, cookie(Sign(strSID, secret)),
			Identity{UserID: "u1", UserKey: "u1", UserName: "Alice", UserRole: "admin", SessionID: strSID}, nil},
		{"cookie fallback: null", `{"sessionID":null,"userId":"u1"}`, cookie(Sign(strSID, secret)),
			Identity{UserID: "u1", UserKey: "u1", UserName: "Alice", UserRole: "admin", SessionID: strSID}, nil},
		{"cookie fallback: empty", `{"sessionID":"","userId":"u1"}`, cookie(Sign(strSID, secret)),
			Identity{UserID: "u1", UserKey: "u1", UserName: "Alice", UserRole: "admin", SessionID: strSID}, nil},
		{"no fallback for a wrong sessionID", `{"sessionID":"nope","userId":"u1"}`, cookie(Sign(strSID, secret)), Identity{}, ErrInvalidSession},
		{"no fallback for sessionID false", `{"sessionID":false,"userId":"u1"}`, cookie(Sign(strSID, secret)), Identity{}, ErrMissingCredentials},
		{"no fallback for sessionID 0", `{"sessionID":0,"userId":"u1"}`, cookie(Sign(strSID, secret)), Identity{}, ErrMissingCredentials},
		{"unsigned cookie refused", `{"userId":"u1"}`, cookie(strSID), Identity{}, ErrInvalidSession},
		{"empty cookie", `{"userId":"u1"}`, http.Header{"Cookie": {"connect.sid="}}, Identity{}, ErrMissingCredentials},
		{"other cookie only", `{"userId":"u1"}`, http.Header{"Cookie": {"x=1"}}, Identity{}, ErrMissingCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.Authenticate(t.Context(), json.RawMessage(tc.auth), tc.header)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("identity = %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestHeaderReadOnlyForTheCookieFallback: the headers (a map built per
// connection) are asked for only when the handshake has no sessionID.
func TestHeaderReadOnlyForTheCookieFallback(t *testing.T) {
	mem := NewMemoryStore(MemoryConfig{})
	sid := mem.Create("u1", "Alice", "", time.Hour)
	a := New(Config{Store: mem, Secrets: []string{"s1"}})
	reads := 0
	header := func() http.Header {
		reads++
		return http.Header{"Cookie": {"connect.sid=" + url.QueryEscape(Sign(sid, "s1"))}}
	}
	if _, err := a.AuthenticateWith(t.Context(), json.RawMessage(`{"sessionID":"`+sid+`","userId":"u1"}`), header); err != nil || reads != 0 {
		t.Fatalf("with a sessionID: err %v, headers read %d times, want 0", err, reads)
	}
	if _, err := a.AuthenticateWith(t.Context(), json.RawMessage(`{"userId":"u1"}`), header); err != nil || reads != 1 {
		t.Fatalf("cookie fallback: err %v, headers read %d times, want 1", err, reads)
	}
}

func TestErrorShape(t *testing.T) {
	tests := []struct {
		err      *Error
		message  string
		dataJSON string
	}{
		{ErrMissingCredentials, "UNAUTHORIZED: Missing authentication credentials", `{"code":"UNAUTHORIZED"}`},
		{ErrInvalidSession, "UNAUTHORIZED: Invalid session or user mismatch", `{"code":"UNAUTHORIZED"}`},
		{ErrAuthenticationFailed, "AUTHENTICATION_FAILED", `{"code":"AUTHENTICATION_FAILED"}`},
	}
	for _, tc := range tests {
		t.Run(tc.message, func(t *testing.T) {
			wrapped := tc.err.withCause(errors.New("internal"))
			if wrapped.Error() != tc.message {
				t.Fatalf("Error() = %q", wrapped.Error())
			}
			b, err := json.Marshal(wrapped.ConnectErrorData())
			if err != nil || string(b) != tc.dataJSON {
				t.Fatalf("ConnectErrorData = %s, %v", b, err)
			}
			var ae *Error
			if !errors.Is(wrapped, tc.err) || !errors.As(error(wrapped), &ae) || ae.Code != tc.err.Code {
				t.Fatalf("errors.Is/As do not match %v", tc.err)
			}
		})
	}
}

func TestCheckMemory(t *testing.T) {
	mem := NewMemoryStore(MemoryConfig{})
	a := New(Config{Store: mem})
	sid := mem.Create("u1", "", "", time.Hour)
	if err := a.Check(t.Context(), sid); err != nil {
		t.Fatalf("Check live = %v", err)
	}
	mem.Destroy(sid)
	if err := a.Check(t.Context(), sid); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Check destroyed = %v, want ErrNotFound", err)
	}
}
