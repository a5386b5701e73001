package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
)

func TestDecodeSessionJSON(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantUser any
		wantName string
		wantRole string
		wantErr  error
	}{
		{"string user", `{"cookie":{},"passport":{"user":"u1"},"userName":"Alice","userRole":"admin"}`, "u1", "Alice", "admin", nil},
		{"number user", `{"passport":{"user":123}}`, 123.0, "", "", nil},
		{"object user", `{"passport":{"user":{"id":1}}}`, map[string]any{"id": 1.0}, "", "", nil},
		{"no passport", `{"cookie":{}}`, nil, "", "", nil},
		{"passport not object", `{"passport":"u1"}`, nil, "", "", nil},
		{"falsy userName", `{"passport":{"user":"u"},"userName":"","userRole":0}`, "u", "", "", nil},
		{"numeric userName", `{"passport":{"user":"u"},"userName":42}`, "u", "42", "", nil},
		{"duplicate key: last wins", `{"passport":{"user":"a"},"passport":{"user":"b"}}`, "b", "", "", nil},
		{"null", `null`, nil, "", "", nil},
		{"number", `5`, nil, "", "", nil},
		{"invalid", `{"passport":`, nil, "", "", ErrCorruptSession},
		{"trailing", `{} {}`, nil, "", "", ErrCorruptSession},
		{"empty", ``, nil, "", "", ErrCorruptSession},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := decodeSessionJSON([]byte(tc.in))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if m, ok := tc.wantUser.(map[string]any); ok {
				got, ok := s.User.(map[string]any)
				if !ok || got["id"] != m["id"] {
					t.Fatalf("User = %#v, want %#v", s.User, tc.wantUser)
				}
			} else if s.User != tc.wantUser {
				t.Fatalf("User = %#v, want %#v", s.User, tc.wantUser)
			}
			if s.UserName != tc.wantName || s.UserRole != tc.wantRole {
				t.Fatalf("UserName/Role = %q/%q, want %q/%q", s.UserName, s.UserRole, tc.wantName, tc.wantRole)
			}
		})
	}
}

func TestDecodeMongoDocument(t *testing.T) {
	now := time.Now()
	future := now.Add(time.Hour)
	doc := func(d bson.D) bson.Raw {
		b, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name     string
		doc      bson.Raw
		wantUser any
		wantErr  error
	}{
		{"json string", doc(bson.D{{Key: "_id", Value: "x"}, {Key: "expires", Value: future}, {Key: "session", Value: `{"passport":{"user":"u1"}}`}}), "u1", nil},
		{"sub-document int32 user", doc(bson.D{{Key: "expires", Value: future}, {Key: "session", Value: bson.D{{Key: "passport", Value: bson.D{{Key: "user", Value: int32(7)}}}}}}), 7.0, nil},
		{"sub-document int64 user", doc(bson.D{{Key: "session", Value: bson.D{{Key: "passport", Value: bson.D{{Key: "user", Value: int64(1) << 40}}}}}}), float64(int64(1) << 40), nil},
		{"sub-document double user", doc(bson.D{{Key: "session", Value: bson.D{{Key: "passport", Value: bson.D{{Key: "user", Value: 1.5}}}}}}), 1.5, nil},
		{"no expires field", doc(bson.D{{Key: "session", Value: `{"passport":{"user":"u1"}}`}}), "u1", nil},
		{"expired", doc(bson.D{{Key: "expires", Value: now.Add(-time.Second)}, {Key: "session", Value: `{"passport":{"user":"u1"}}`}}), nil, ErrNotFound},
		{"expires not a date", doc(bson.D{{Key: "expires", Value: "tomorrow"}, {Key: "session", Value: `{}`}}), nil, ErrNotFound},
		{"null session", doc(bson.D{{Key: "session", Value: nil}}), nil, nil},
		{"no session", doc(bson.D{{Key: "expires", Value: future}}), nil, ErrCorruptSession},
		{"session not JSON", doc(bson.D{{Key: "session", Value: "MIIC..."}}), nil, ErrCorruptSession},
		{"session of another type", doc(bson.D{{Key: "session", Value: int32(1)}}), nil, ErrCorruptSession},
		{"truncated document", bson.Raw{5, 0, 0}, nil, ErrCorruptSession},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := decodeMongoDocument(tc.doc, nil, now)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && s.User != tc.wantUser {
				t.Fatalf("User = %#v, want %#v", s.User, tc.wantUser)
			}
		})
	}
}

func TestMemoryStore(t *testing.T) {
	now := time.Unix(1000, 0)
	m := NewMemoryStore(MemoryConfig{Now: func() time.Time { return now }})
	sid := m.Create(123, "Alice", "admin", time.Minute)
	if len(sid) != 32 {
		t.Fatalf("sid %q: want 32 characters", sid)
	}
	s, err := m.Get(t.Context(), sid)
	if err != nil || s.User != 123.0 || s.UserName != "Alice" || s.UserRole != "admin" {
		t.Fatalf("Get = %#v, %v", s, err)
	}
	if _, err := m.Get(t.Context(), "unknown"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: err = %v", err)
	}
	now = now.Add(time.Minute)
	if _, err := m.Get(t.Context(), sid); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired: err = %v", err)
	}
	if m.Len() != 0 {
		t.Fatalf("expired session not dropped: Len = %d", m.Len())
	}
	sid2 := m.Create("u2", "", "", 0)
	m.Destroy(sid2)
	if _, err := m.Get(t.Context(), sid2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("destroyed: err = %v", err)
	}
}

// TestDecryptNodeCiphertexts decrypts documents connect-mongo 6 wrote (with
// crypto secret "cs") against FerretDB, kept in the fuzz seed corpus.
func TestDecryptNodeCiphertexts(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for _, name := range []string{"kruptein", "webcrypto"} {
		t.Run(name, func(t *testing.T) {
			doc := readCorpusBytes(t, "FuzzDecodeMongoDocument", name)
			s, err := decodeMongoDocument(doc, newSessionCipher("cs", "", 0), now)
			if err != nil || s.User != "u1" || s.UserRole != "admin" {
				t.Fatalf("decode = %#v, %v", s, err)
			}
			if _, err := decodeMongoDocument(doc, newSessionCipher("wrong", "", 0), now); !errors.Is(err, ErrCorruptSession) {
				t.Fatalf("wrong secret: err = %v, want ErrCorruptSession", err)
			}
		})
	}
}

func readCorpusBytes(t *testing.T, fuzz, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "fuzz", fuzz, name))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(data), "\n", 3)
	q, ok := strings.CutPrefix(lines[1], "[]byte(")
	if !ok {
		t.Fatalf("corpus file %s: unexpected %q", name, lines[1])
	}
	s, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}
