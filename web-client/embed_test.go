package webclient

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// builtAsset returns the path of the built JavaScript bundle.
func builtAsset(t *testing.T) string {
	t.Helper()
	matches, err := fs.Glob(dist, "dist/assets/*.js")
	if err != nil || len(matches) == 0 {
		t.Fatalf("no built JavaScript in dist/assets: %v", err)
	}
	return strings.TrimPrefix(matches[0], "dist")
}

func TestHandler(t *testing.T) {
	h := Handler()
	js := builtAsset(t)
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		wantStatus int
		wantType   string
		wantCache  string
		wantBody   string // substring
	}{
		{"root is index.html", "GET", "/", nil, 200, "text/html; charset=utf-8", cacheRevalidate, `<div id="root">`},
		{"index.html itself", "GET", "/index.html", nil, 200, "text/html; charset=utf-8", cacheRevalidate, `<div id="root">`},
		{"app route falls back to index", "GET", "/portfolio/today", nil, 200, "text/html; charset=utf-8", cacheRevalidate, `<div id="root">`},
		{"hashed asset is immutable", "GET", js, nil, 200, "text/javascript; charset=utf-8", cacheImmutable, "socket"},
		{"public file", "GET", "/favicon.svg", nil, 200, "image/svg+xml", cacheShort, "<svg"},
		{"missing asset is 404", "GET", "/assets/index-nope.js", nil, 404, "", "no-store", ""},
		{"missing file with extension is 404", "GET", "/robots.txt", nil, 404, "", "no-store", ""},
		{"dot-dot stays inside", "GET", "/../../etc/passwd", nil, 200, "text/html; charset=utf-8", cacheRevalidate, `<div id="root">`},
		{"dot-dot to a file stays inside", "GET", "/assets/../../go.mod", nil, 404, "", "no-store", ""},
		{"HEAD", "HEAD", "/", nil, 200, "text/html; charset=utf-8", cacheRevalidate, ""},
		{"POST refused", "POST", "/", nil, 405, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tc.method, tc.path, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			if tc.wantType != "" && rec.Header().Get("Content-Type") != tc.wantType {
				t.Fatalf("Content-Type = %q, want %q", rec.Header().Get("Content-Type"), tc.wantType)
			}
			if tc.wantCache != "" && rec.Header().Get("Cache-Control") != tc.wantCache {
				t.Fatalf("Cache-Control = %q, want %q", rec.Header().Get("Cache-Control"), tc.wantCache)
			}
			if !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Fatalf("body does not contain %q", tc.wantBody)
			}
			if tc.method == "HEAD" && rec.Body.Len() != 0 {
				t.Fatal("HEAD answered a body")
			}
			if tc.wantStatus == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Fatalf("Allow = %q", rec.Header().Get("Allow"))
			}
		})
	}
}

func TestHandlerETag(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("If-None-Match", etag)
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("conditional GET = %d, want 304", rec.Code)
	}
}

func TestIndexReferencesEmbeddedAssets(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	for _, ref := range strings.Split(body, `"`) {
		if !strings.HasPrefix(ref, "/assets/") {
			continue
		}
		r := httptest.NewRecorder()
		h.ServeHTTP(r, httptest.NewRequest("GET", ref, nil))
		if r.Code != 200 {
			t.Fatalf("index.html references %s, which answers %d", ref, r.Code)
		}
	}
	if !strings.Contains(body, `src="/assets/`) {
		t.Fatal("index.html loads no /assets/ script")
	}
}
