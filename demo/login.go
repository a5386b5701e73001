package demo

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"
)

const (
	// DefaultCookieName is express-session's cookie name.
	DefaultCookieName = "connect.sid"
	// DefaultUserName is used when the login body has no userName.
	DefaultUserName = "Demo Trader"
	// maxLoginBody bounds the POST /dev/login body.
	maxLoginBody = 4 << 10
	// maxUserNameRunes bounds a demo user's display name.
	maxUserNameRunes = 64
)

// LoginRequest is the body of POST /dev/login; every field is optional.
type LoginRequest struct {
	UserName string `json:"userName"`
}

// LoginResponse is the answer of POST /dev/login: what the client passes as
// Socket.IO auth. SessionID is the raw session id.
type LoginResponse struct {
	SessionID string `json:"sessionID"`
	UserID    string `json:"userId"`
	UserName  string `json:"userName"`
}

type loginError struct {
	Error string `json:"error"`
}

// DevLoginHandler serves POST /dev/login: it creates a session for a fresh
// user "demo-<random>" through sc, sets the signed session cookie (as
// express-session would: URL-encoded "s:<sid>.<sig>", HttpOnly, SameSite=Lax,
// Path=/) and answers LoginResponse. 400 on a bad body, 405 on other methods,
// 500 when the store fails. cookieName "" means DefaultCookieName; a nil
// logger means slog.Default(). Mount it only when DEMO=true: anyone can log in.
func DevLoginHandler(sc SessionCreator, cookieName string, logger *slog.Logger) http.Handler {
	if cookieName == "" {
		cookieName = DefaultCookieName
	}
	if logger == nil {
		logger = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, loginError{Error: "method not allowed"})
			return
		}
		req, err := decodeLogin(w, r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, loginError{Error: err.Error()})
			return
		}
		userID, err := newUserID()
		if err != nil {
			logger.Error("dev login: random user id", "err", err)
			writeJSON(w, http.StatusInternalServerError, loginError{Error: "internal error"})
			return
		}
		sid, signed, err := sc.CreateDevSession(userID, req.UserName)
		if err != nil {
			logger.Error("dev login: create session", "err", err)
			writeJSON(w, http.StatusInternalServerError, loginError{Error: "could not create session"})
			return
		}
		http.SetCookie(w, &http.Cookie{
			Name:     cookieName,
			Value:    encodeURIComponent(signed),
			Path:     "/",
			HttpOnly: true,
			Secure:   r.TLS != nil,
			SameSite: http.SameSiteLaxMode,
		})
		logger.Info("dev login", "userId", userID, "userName", req.UserName)
		writeJSON(w, http.StatusOK, LoginResponse{SessionID: sid, UserID: userID, UserName: req.UserName})
	})
}

// decodeLogin reads the optional JSON body. An empty body means defaults.
func decodeLogin(w http.ResponseWriter, r *http.Request) (LoginRequest, error) {
	var req LoginRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLoginBody))
	if err != nil {
		return req, errors.New("request body too large")
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return req, errors.New("invalid JSON body: expected {\"userName\": string}")
		}
	}
	req.UserName = strings.TrimSpace(req.UserName)
	if req.UserName == "" {
		req.UserName = DefaultUserName
	}
	if utf8.RuneCountInString(req.UserName) > maxUserNameRunes {
		return req, errors.New("userName is longer than 64 characters")
	}
	return req, nil
}

func newUserID() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "demo-" + hex.EncodeToString(b[:]), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// encodeURIComponent escapes s as JavaScript's encodeURIComponent does, which
// is how express-session (via the cookie package) writes "s:<sid>.<sig>".
func encodeURIComponent(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
