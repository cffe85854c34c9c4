package graphiql_test

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"zoomsignage/server/graphiql"
)

func serve(t *testing.T, ui *graphiql.UI, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", ui.Page())
	mux.Handle("GET "+graphiql.AssetsRoot, ui.Assets())
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1] // net/http keeps Host out of Header
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec.Result(), rec.Body.Bytes()
}

func newUI(t *testing.T) *graphiql.UI {
	t.Helper()
	ui, err := graphiql.New("zoomsignage", "/graphql")
	if err != nil {
		t.Fatal(err)
	}
	return ui
}

// TestAssetsAreThePinnedPackages: what the binary serves is byte for byte
// what assets/SHA256SUMS (checked against the npm registry by
// scripts/update-graphiql.sh) and the package comment list.
func TestAssetsAreThePinnedPackages(t *testing.T) {
	ui := newUI(t)
	sums, err := os.Open("assets/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for sc := bufio.NewScanner(sums); sc.Scan(); n++ {
		sum, name, _ := strings.Cut(sc.Text(), "  ")
		resp, body := serve(t, ui, ui.AssetPrefix()+name)
		got := sha256.Sum256(body)
		if resp.StatusCode != 200 || hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: %d, sha256 %x, want %s", name, resp.StatusCode, got, sum)
		}
		if !regexp.MustCompile(`(?m)^//\s+` + regexp.QuoteMeta(name) + `\s+\S+ \S+\s+` + sum + `$`).Match(doc) {
			t.Errorf("doc.go does not list %s with sha256 %s", name, sum)
		}
	}
	if n != 4 {
		t.Fatalf("SHA256SUMS lists %d files, want 4", n)
	}
}

// TestPageNamesOnlyItsOwnOrigin: the page is not cached, loads every
// script and style from the versioned asset path (no inline script), and
// its policy allows no other origin.
func TestPageNamesOnlyItsOwnOrigin(t *testing.T) {
	ui := newUI(t)
	resp, body := serve(t, ui, "/")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %v", resp.StatusCode, resp.Header)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080;", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("policy %q lacks %q", csp, want)
		}
	}
	page := string(body)
	if strings.Contains(page, "//") && regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(page) {
		t.Errorf("the page names another origin:\n%s", page)
	}
	if regexp.MustCompile(`<script>`).MatchString(page) {
		t.Errorf("the page has an inline script:\n%s", page)
	}
	for _, name := range []string{"react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "init.js", "graphiql.min.css", "page.css"} {
		if !strings.Contains(page, `"`+ui.AssetPrefix()+name+`"`) {
			t.Errorf("the page does not load %s from %s", name, ui.AssetPrefix())
		}
	}
	if !strings.Contains(page, `data-endpoint="/graphql"`) {
		t.Errorf("the page does not name its endpoint:\n%s", page)
	}

	// A Host that would break out of the policy is not copied into it.
	resp, _ = serve(t, ui, "/", "Host", "evil.example; script-src *")
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "evil") || !strings.Contains(csp, "connect-src 'self';") {
		t.Errorf("policy with a hostile Host: %q", csp)
	}
}

// TestAssetsAreImmutableUnderTheirVersion: assets are cached for a year
// under a path naming their content, compressed when the browser accepts
// it, and another version's path is not found.
func TestAssetsAreImmutableUnderTheirVersion(t *testing.T) {
	ui := newUI(t)
	if !regexp.MustCompile(`^/graphiql/[0-9a-f]{16}/$`).MatchString(ui.AssetPrefix()) {
		t.Fatalf("asset prefix %q", ui.AssetPrefix())
	}
	resp, plain := serve(t, ui, ui.AssetPrefix()+"init.js")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		!strings.Contains(resp.Header.Get("Content-Type"), "javascript") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("init.js: %d %v", resp.StatusCode, resp.Header)
	}
	if !strings.Contains(string(plain), "subscriptionUrl") {
		t.Fatalf("init.js does not configure subscriptions:\n%s", plain)
	}
	resp, _ = serve(t, ui, ui.AssetPrefix()+"graphiql.min.css")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("css type %q", resp.Header.Get("Content-Type"))
	}

	resp, gz := serve(t, ui, ui.AssetPrefix()+"init.js", "Accept-Encoding", "gzip, br")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", resp.Header)
	}
	zr, err := gzip.NewReader(strings.NewReader(string(gz)))
	if err != nil {
		t.Fatal(err)
	}
	if unzipped, _ := io.ReadAll(zr); string(unzipped) != string(plain) {
		t.Fatal("the gzip form differs from the file")
	}
	for _, refused := range []string{"", "br", "gzip;q=0", "gzip; q=0.0, br"} {
		if resp, _ := serve(t, ui, ui.AssetPrefix()+"init.js", "Accept-Encoding", refused); resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("Accept-Encoding %q, yet gzip sent: %v", refused, resp.Header)
		}
	}

	for _, path := range []string{"/graphiql/0123456789abcdef/init.js", ui.AssetPrefix() + "index.html", ui.AssetPrefix() + "nope.js", ui.AssetPrefix() + "assets/init.js"} {
		if resp, _ := serve(t, ui, path); resp.StatusCode != 404 {
			t.Errorf("%s = %d, want 404", path, resp.StatusCode)
		}
	}
}
