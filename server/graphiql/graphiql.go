package graphiql

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// AssetsRoot is the path under which the assets are served, each under
// AssetsRoot + <content hash> + "/".
const AssetsRoot = "/graphiql/"

//go:embed index.html init.js page.css assets/*.js assets/*.css
var files embed.FS

// pageFile is the page template; every other embedded file is an asset.
const pageFile = "index.html"

// assetCacheControl lets browsers keep an asset for a year without
// revalidating: its path changes whenever any asset's content does.
const assetCacheControl = "public, max-age=31536000, immutable"

// UI is the GraphiQL page for one GraphQL endpoint, and its assets.
type UI struct {
	prefix string // AssetsRoot + hash + "/"
	page   []byte // rendered once: it depends only on title and endpoint
	assets map[string]*asset
}

// asset is one embedded file, with its gzip form made on first request
// (graphiql.min.js is 3.5 MB, about a sixth of that compressed).
type asset struct {
	body        []byte
	contentType string
	once        sync.Once
	gz          []byte
}

type pageData struct {
	Title, Endpoint, Prefix string
}

// New renders the page for a GraphQL endpoint path (e.g. "/graphql") and
// indexes the assets.
func New(title, endpoint string) (*UI, error) {
	u := &UI{assets: map[string]*asset{}}
	var names []string
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || name == pageFile {
			return err
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("graphiql.New: %w", err)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		body, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("graphiql.New: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(body))
		h.Write(body)
		u.assets[path.Base(name)] = &asset{body: body, contentType: mime.TypeByExtension(path.Ext(name))}
	}
	u.prefix = AssetsRoot + hex.EncodeToString(h.Sum(nil))[:16] + "/"

	tmpl, err := template.ParseFS(files, pageFile)
	if err != nil {
		return nil, fmt.Errorf("graphiql.New: %w", err)
	}
	var page bytes.Buffer
	if err := tmpl.Execute(&page, pageData{Title: title, Endpoint: endpoint, Prefix: u.prefix}); err != nil {
		return nil, fmt.Errorf("graphiql.New: %w", err)
	}
	u.page = page.Bytes()
	return u, nil
}

// AssetPrefix is the versioned path the page loads its assets from.
func (u *UI) AssetPrefix() string { return u.prefix }

// Page serves the GraphiQL page: never cached (it names the assets'
// version), and under a policy that allows scripts, styles and connections
// from the gateway's own origin only. connect-src names the ws and wss
// forms of the page's host because subscriptions open a websocket to it.
func (u *UI) Page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", contentSecurityPolicy(r.Host))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		_, _ = w.Write(u.page)
	})
}

// contentSecurityPolicy is the page's policy: nothing inline, nothing from
// another origin. GraphiQL's components style elements through the DOM,
// which style-src does not govern; fonts and icons it inlines as data: URLs.
func contentSecurityPolicy(host string) string {
	connect := "'self'"
	if validHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; " +
		"connect-src " + connect + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// validHost keeps a Host header that could break out of the policy (a
// space, a semicolon, a quote) from being copied into it; such a page then
// allows its own origin's HTTP alone.
func validHost(host string) bool {
	if host == "" {
		return false
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return false
		}
	}
	return true
}

// Assets serves the embedded files under AssetPrefix. Another version's
// path is 404, not this version's file: a page naming it came from another
// binary, and must not cache this one's content for a year under it.
func (u *UI) Assets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, u.prefix)
		a := u.assets[name]
		if !ok || a == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", assetCacheControl)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Add("Vary", "Accept-Encoding")
		body := a.body
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body = a.gzipped()
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	})
}

func (a *asset) gzipped() []byte {
	a.once.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(a.body)
		_ = zw.Close()
		a.gz = buf.Bytes()
	})
	return a.gz
}

// acceptsGzip reports whether Accept-Encoding lists gzip with a non-zero
// q (or *, which covers it; Go's client and every browser name gzip).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(part, ";")
		if coding = strings.TrimSpace(coding); !strings.EqualFold(coding, "gzip") && coding != "*" {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		if v, err := strconv.ParseFloat(q, 64); err == nil && v > 0 {
			return true
		}
	}
	return false
}
