// Package webclient serves the dashboard's production build (dist/, built by
// `npm ci && npm run build` and committed) from the binary.
package webclient

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// Cache-Control values.
const (
	// Files under assets/ have content hashes in their names.
	cacheImmutable = "public, max-age=31536000, immutable"
	// index.html names the current assets: always revalidate (cheap, ETag).
	cacheRevalidate = "no-cache"
	// Other public files (favicon.svg) keep their names across builds.
	cacheShort = "public, max-age=3600"
)

// contentTypes fixes the types of the build's own files, whatever the host's
// mime.types says.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".json":  "application/json",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
}

// file is one embedded file, read once.
type file struct {
	body        []byte
	etag        string
	contentType string
	cache       string
}

// Handler serves the SPA: existing files with cache headers and ETags,
// index.html for "/" and for unknown paths that are not asset requests (so
// client-side routes load the app), 404 for unknown asset paths, 405 for
// methods other than GET and HEAD. It panics if the build is missing, which
// only a broken checkout can cause.
func Handler() http.Handler {
	files, err := loadFiles()
	if err != nil {
		panic("webclient: " + err.Error())
	}
	index, ok := files["index.html"]
	if !ok {
		panic("webclient: dist/index.html is missing; run `npm ci && npm run build` in web-client/")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		f, ok := files[name]
		switch {
		case ok:
		case name == "" || !looksLikeAsset(name):
			f = index
		default:
			w.Header().Set("Cache-Control", "no-store")
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", f.cache)
		h.Set("ETag", f.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		// ServeContent answers If-None-Match with 304 and handles HEAD and ranges.
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
	})
}

// looksLikeAsset reports whether a missing path was a request for a file
// (anything under assets/ or with an extension) rather than an app route.
func looksLikeAsset(name string) bool {
	return strings.HasPrefix(name, "assets/") || path.Ext(name) != ""
}

func loadFiles() (map[string]file, error) {
	root, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	files := make(map[string]file)
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = mime.TypeByExtension(path.Ext(p))
		}
		if ct == "" {
			ct = http.DetectContentType(body)
		}
		cache := cacheShort
		switch {
		case p == "index.html":
			cache = cacheRevalidate
		case strings.HasPrefix(p, "assets/"):
			cache = cacheImmutable
		}
		files[p] = file{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, contentType: ct, cache: cache}
		return nil
	})
	return files, err
}
