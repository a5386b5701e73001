package demo

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// fakeSessions records CreateDevSession calls.
type fakeSessions struct {
	calls []struct {
		userID   any
		userName string
	}
	err error
}

func (f *fakeSessions) CreateDevSession(userID any, userName string) (string, string, error) {
	f.calls = append(f.calls, struct {
		userID   any
		userName string
	}{userID, userName})
	if f.err != nil {
		return "", "", f.err
	}
	return "sid123", "s:sid123.AbC/d+E", nil
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestDevLoginHandler(t *testing.T) {
	userIDPattern := regexp.MustCompile(`^demo-[0-9a-f]{12}$`)
	tests := []struct {
		name       string
		method     string
		body       string
		cookieName string
		storeErr   error
		wantStatus int
		wantName   string // on 200
		wantCookie string // cookie name on 200
	}{
		{"named user", http.MethodPost, `{"userName":"  Alice  "}`, "", nil, 200, "Alice", "connect.sid"},
		{"empty body", http.MethodPost, ``, "", nil, 200, DefaultUserName, "connect.sid"},
		{"empty object", http.MethodPost, `{}`, "", nil, 200, DefaultUserName, "connect.sid"},
		{"custom cookie name", http.MethodPost, `{"userName":"Bob"}`, "sid", nil, 200, "Bob", "sid"},
		{"bad JSON", http.MethodPost, `{"userName":`, "", nil, 400, "", ""},
		{"userName not a string", http.MethodPost, `{"userName":5}`, "", nil, 400, "", ""},
		{"array body", http.MethodPost, `[]`, "", nil, 400, "", ""},
		{"name too long", http.MethodPost, `{"userName":"` + strings.Repeat("x", 65) + `"}`, "", nil, 400, "", ""},
		{"body too large", http.MethodPost, `{"userName":"` + strings.Repeat("x", 5000) + `"}`, "", nil, 400, "", ""},
		{"GET", http.MethodGet, ``, "", nil, 405, "", ""},
		{"PUT", http.MethodPut, `{}`, "", nil, 405, "", ""},
		{"store fails", http.MethodPost, `{}`, "", errors.New("store down"), 500, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sessions := &fakeSessions{err: tc.storeErr}
			h := DevLoginHandler(sessions, tc.cookieName, discard)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/dev/login", strings.NewReader(tc.body)))
			res := rec.Result()
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", res.StatusCode, tc.wantStatus, rec.Body)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type = %q", ct)
			}
			if tc.wantStatus == 405 && res.Header.Get("Allow") != "POST" {
				t.Fatalf("Allow = %q", res.Header.Get("Allow"))
			}
			if tc.wantStatus != 200 {
				if len(res.Cookies()) != 0 {
					t.Fatal("cookie set on failure")
				}
				if tc.storeErr == nil && len(sessions.calls) != 0 {
					t.Fatal("session created for a refused request")
				}
				var e loginError
				if err := json.NewDecoder(res.Body).Decode(&e); err != nil || e.Error == "" {
					t.Fatalf("error body: %v %+v", err, e)
				}
				return
			}
			var got LoginResponse
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if got.SessionID != "sid123" || got.UserName != tc.wantName || !userIDPattern.MatchString(got.UserID) {
				t.Fatalf("response = %+v", got)
			}
			if len(sessions.calls) != 1 || sessions.calls[0].userID != got.UserID || sessions.calls[0].userName != tc.wantName {
				t.Fatalf("CreateDevSession calls = %+v", sessions.calls)
			}
			cookies := res.Cookies()
			if len(cookies) != 1 {
				t.Fatalf("cookies = %v", cookies)
			}
			c := cookies[0]
			if c.Name != tc.wantCookie || c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
				t.Fatalf("cookie = %+v", c)
			}
			if c.Value != "s%3Asid123.AbC%2Fd%2BE" {
				t.Fatalf("cookie value = %q, want express-session's encoding", c.Value)
			}
			if v, _ := url.QueryUnescape(c.Value); v != "s:sid123.AbC/d+E" {
				t.Fatalf("decoded cookie value = %q", v)
			}
		})
	}
}

func TestDevLoginUserIDsAreFresh(t *testing.T) {
	h := DevLoginHandler(&fakeSessions{}, "", nil)
	seen := map[string]bool{}
	for range 20 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/dev/login", strings.NewReader(`{}`)))
		var got LoginResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if seen[got.UserID] {
			t.Fatalf("userId %q handed out twice", got.UserID)
		}
		seen[got.UserID] = true
	}
}

func TestEncodeURIComponent(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abcXYZ019", "abcXYZ019"},
		{"-_.!~*'()", "-_.!~*'()"},
		{"s:a.b", "s%3Aa.b"},
		{"a/b+c=d", "a%2Fb%2Bc%3Dd"},
		{"é", "%C3%A9"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := encodeURIComponent(tc.in); got != tc.want {
				t.Fatalf("encodeURIComponent(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
