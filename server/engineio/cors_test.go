package engineio

import (
	"net/http"
	"testing"
)

func TestOriginPolicy(t *testing.T) {
	e := startEngine(t, Config{CORS: CORS{Origins: []string{"https://app.example.com"}, Credentials: true}}, false)
	tests := []struct {
		name   string
		origin string // "" sends no Origin header
		allow  bool
	}{
		{"allowed origin", "https://app.example.com", true},
		{"no Origin header", "", true},
		{"another port", "https://app.example.com:8443", false},
		{"another scheme", "http://app.example.com", false},
		{"lookalike host with Cyrillic е", "https://app.\u0435xample.com", false},
		{"suffix host", "https://app.example.com.evil.test", false},
		{"trailing slash", "https://app.example.com/", false},
		{"null", "null", false},
		{"file://", "file://", false},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/polling", func(t *testing.T) {
			hdr := map[string]string{}
			if tt.origin != "" {
				hdr["Origin"] = tt.origin
			}
			r, err := e.do(t, t.Context(), http.MethodGet, "?EIO=4&transport=polling", "", hdr)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.allow {
				if r.status != 403 || r.body != `{"code":4,"message":"Forbidden"}` {
					t.Fatalf("got %d %q, want 403 Forbidden", r.status, r.body)
				}
				if r.header.Get("Access-Control-Allow-Origin") != "" {
					t.Fatalf("refused origin got Access-Control-Allow-Origin %q", r.header.Get("Access-Control-Allow-Origin"))
				}
				return
			}
			if r.status != 200 {
				t.Fatalf("got %d %q", r.status, r.body)
			}
			e.nextSession(t)
			if tt.origin != "" {
				if got := r.header.Get("Access-Control-Allow-Origin"); got != tt.origin {
					t.Fatalf("Access-Control-Allow-Origin %q", got)
				}
				if r.header.Get("Access-Control-Allow-Credentials") != "true" {
					t.Fatal("no Access-Control-Allow-Credentials")
				}
			}
		})
		t.Run(tt.name+"/websocket", func(t *testing.T) {
			hdr := http.Header{}
			if tt.origin != "" {
				hdr.Set("Origin", tt.origin)
			}
			c, res, err := e.dial(t, "?EIO=4&transport=websocket", hdr)
			if !tt.allow {
				if err == nil {
					c.Close()
					t.Fatal("WebSocket accepted")
				}
				if res == nil || res.StatusCode != 403 {
					t.Fatalf("refusal %v %v, want HTTP 403", res, err)
				}
				res.Body.Close()
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			if m := readText(t, c); m[0] != '0' {
				t.Fatalf("open %q", m)
			}
			e.nextSession(t)
		})
	}
	if n := len(e.sessions); n != 0 {
		t.Fatalf("%d sessions created by refused requests", n)
	}
	t.Run("preflight", func(t *testing.T) {
		r, err := e.do(t, t.Context(), http.MethodOptions, "?EIO=4&transport=polling", "", map[string]string{
			"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type",
		})
		if err != nil || r.status != 204 || r.header.Get("Access-Control-Allow-Methods") != "GET,HEAD,PUT,PATCH,POST,DELETE" ||
			r.header.Get("Access-Control-Allow-Headers") != "content-type" || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
			t.Fatalf("preflight %d %v %v", r.status, r.header, err)
		}
	})
}

func TestParseOrigins(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "[]"}, {"*", "[*]"}, {"https://a.test/, http://b.test:3000 ,", "[https://a.test http://b.test:3000]"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			if got := ParseOrigins(tt.in); fmtSlice(got) != tt.want {
				t.Fatalf("ParseOrigins(%q) = %v", tt.in, got)
			}
		})
	}
}

func fmtSlice(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}
