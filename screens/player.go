package screens

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"strings"
)

//go:embed player/page.html player/player.js player/player.css
var playerFiles embed.FS

// player is the screen page, split around where the program goes, with the
// Content-Security-Policy that allows exactly its inline script and style
// and nothing from anywhere else but the content a program names.
type player struct {
	head, tail string
	csp        string
}

func newPlayer() player {
	page, _ := playerFiles.ReadFile("player/page.html")
	js, _ := playerFiles.ReadFile("player/player.js")
	css, _ := playerFiles.ReadFile("player/player.css")
	html := strings.Replace(strings.Replace(string(page), "{{JS}}", string(js), 1), "{{CSS}}", string(css), 1)
	head, tail, _ := strings.Cut(html, "{{PROGRAM}}")
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src '" + hash(js) + "'",
		"style-src '" + hash(css) + "'",
		// Content is the customer's: images, videos and pages by URL.
		"img-src http: https: data:",
		"media-src http: https:",
		"frame-src http: https:",
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"object-src 'none'",
	}, "; ")
	return player{head: head, tail: tail, csp: csp}
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// render is the page with p inlined, so the first paint needs no second
// request. json.Marshal escapes <, > and &, so the program cannot close
// its script element.
func (pl player) render(p Program) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(pl.head)+len(b)+len(pl.tail))
	out = append(out, pl.head...)
	out = append(out, b...)
	return append(out, pl.tail...), nil
}
