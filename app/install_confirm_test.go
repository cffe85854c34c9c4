package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"zoomsignage/auth"
)

// confirmation is the confirmation page an unbound install's callback
// answered, as a browser holds it.
type confirmation struct {
	body    string
	header  http.Header
	fields  url.Values     // the form's hidden fields
	buttons []string       // the submit buttons' decision values, in order
	cookies []*http.Cookie // what the page set
}

var (
	hiddenField  = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)
	submitButton = regexp.MustCompile(`<button type="submit" name="decision" value="([a-z]+)">`)
)

// confirmationPage runs the callback of an install begun with key, approved
// in Zoom by the seeded admin, and returns the page it answered.
func (w *zoomWorld) confirmationPage(t *testing.T, key string) confirmation {
	t.Helper()
	authURL, cookies := w.beginInstall(t, key)
	if len(cookies) != 0 {
		t.Fatalf("an API-key install set browser cookies: %v", cookies)
	}
	query := w.authorize(t, authURL, w.seed.Admin.ID, "")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(w.url + "/oauth/zoom/callback?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the callback of an API-key install answered %d (%s), not the confirmation page", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := confirmation{body: string(body), header: resp.Header, fields: url.Values{}}
	for _, ck := range resp.Cookies() {
		if strings.HasPrefix(ck.Name, "zs_confirm_") {
			c.cookies = append(c.cookies, ck)
		}
	}
	for _, m := range hiddenField.FindAllStringSubmatch(c.body, -1) {
		c.fields.Set(m[1], m[2])
	}
	for _, m := range submitButton.FindAllStringSubmatch(c.body, -1) {
		c.buttons = append(c.buttons, m[1])
	}
	return c
}

// answer posts the page's form with decision, carrying cookies, and
// returns where the gateway sent the browser.
func (w *zoomWorld) answer(t *testing.T, fields url.Values, decision string, cookies []*http.Cookie) *url.URL {
	t.Helper()
	form := url.Values{}
	for k, v := range fields {
		form[k] = v
	}
	form.Set("decision", decision)
	req, _ := http.NewRequest(http.MethodPost, w.url+"/oauth/zoom/confirm", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the confirmation answered %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// marketplaceGrants counts the live grants of our Marketplace app in the
// seeded account.
func (w *zoomWorld) marketplaceGrants(t *testing.T) int {
	t.Helper()
	grants, err := w.sim.Grants(context.Background(), w.seed.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range grants {
		if g.ClientID == w.seed.Marketplace.ClientID {
			n++
		}
	}
	return n
}

// TestInstallBegunWithAnAPIKeyIsConfirmedInTheApprovingBrowser: the
// authorize URL of an install begun with an API key, approved by whoever it
// was sent to, links nothing until that person confirms, on our page naming
// the receiving tenant, with the page's CSRF token; declining or leaving
// the page unanswered revokes the grant.
func TestInstallBegunWithAnAPIKeyIsConfirmedInTheApprovingBrowser(t *testing.T) {
	w := newZoomWorld(t, 2, nil)
	tenant := w.tenant("Acme Signage <i>", 5) // a name that must be escaped
	key := w.apiKey(tenant, auth.ScopeConnectionsWrite, auth.ScopeConnectionsRead)
	connections := func() int {
		return w.count(t, `SELECT count(*) FROM zoom_connections WHERE kind = 'MARKETPLACE'`)
	}

	t.Run("the callback links nothing and names the tenant", func(t *testing.T) {
		page := w.confirmationPage(t, key)
		if n := connections(); n != 0 {
			t.Fatalf("the callback linked %d connections before any confirmation", n)
		}
		if !strings.Contains(page.body, "Acme Signage &lt;i&gt;") || strings.Contains(page.body, "<i>") || !strings.Contains(page.body, w.seed.AccountID) {
			t.Errorf("the page does not name the tenant (escaped) and the account:\n%s", page.body)
		}
		if len(page.buttons) != 2 || page.buttons[0] != "link" || page.buttons[1] != "decline" {
			t.Errorf("submit buttons = %v, want link first (what Enter does) then decline", page.buttons)
		}
		// form-action governs the post's redirect too: it must allow the
		// web app's origin (PUBLIC_BASE_URL), where the redirect lands.
		if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") ||
			!strings.Contains(csp, "form-action 'self' https://app.example.test;") ||
			page.header.Get("X-Frame-Options") != "DENY" || page.header.Get("Cache-Control") != "no-store" {
			t.Errorf("the page can be framed, cached or post elsewhere: %v", page.header)
		}
		if len(page.cookies) != 1 || page.cookies[0].SameSite != http.SameSiteStrictMode || !page.cookies[0].HttpOnly ||
			page.cookies[0].Path != "/oauth/zoom/confirm" || page.cookies[0].Value != page.fields.Get("csrf") || page.fields.Get("confirmation") == "" {
			t.Errorf("the CSRF cookie is not the page's token, Strict and HttpOnly: %+v %v", page.cookies, page.fields)
		}
	})

	t.Run("an answer without the page's token links nothing and leaves the page answerable", func(t *testing.T) {
		page := w.confirmationPage(t, key)
		forged := url.Values{"confirmation": {page.fields.Get("confirmation")}, "csrf": {"guessed"}}
		for name, tc := range map[string]struct {
			fields  url.Values
			cookies []*http.Cookie
		}{
			"no cookie (a cross-site form)": {page.fields, nil},
			"a guessed token":               {forged, []*http.Cookie{{Name: page.cookies[0].Name, Value: "guessed"}}},
			"a token of no page":            {url.Values{"confirmation": {"x"}, "csrf": {"y"}}, page.cookies},
		} {
			if loc := w.answer(t, tc.fields, "link", tc.cookies); loc.Query().Get("reason") != "confirmation_invalid" && loc.Query().Get("reason") != "confirmation_expired" {
				t.Errorf("%s: answered %s", name, loc)
			}
		}
		if n := connections(); n != 0 {
			t.Fatalf("a forged confirmation linked %d connections", n)
		}
		if loc := w.answer(t, page.fields, "decline", page.cookies); loc.Query().Get("reason") != "declined" {
			t.Fatalf("the real answer after forged ones: %s", loc)
		}
	})

	t.Run("declining links nothing and revokes the grant", func(t *testing.T) {
		page := w.confirmationPage(t, key)
		before := w.marketplaceGrants(t) // with the first page's, still unanswered
		loc := w.answer(t, page.fields, "decline", page.cookies)
		if loc.Query().Get("zoom") != "error" || loc.Query().Get("reason") != "declined" || loc.Path != "/settings/zoom" {
			t.Fatalf("declining redirected to %s", loc)
		}
		if n := connections(); n != 0 {
			t.Errorf("declining linked %d connections", n)
		}
		if n := w.marketplaceGrants(t); n != before-1 {
			t.Errorf("declining left its grant live in Zoom: %d grants, %d before", n, before)
		}
		if loc := w.answer(t, page.fields, "link", page.cookies); loc.Query().Get("zoom") != "error" {
			t.Errorf("a declined page answered twice linked: %s", loc)
		}
	})

	t.Run("unanswered pages expire and their grants are revoked", func(t *testing.T) {
		page := w.confirmationPage(t, key)
		var scheduled time.Time
		if err := w.app.DB.QueryRow(context.Background(),
			`SELECT scheduled_at FROM river_job WHERE kind = 'connection_install_expiry' ORDER BY id DESC LIMIT 1`).Scan(&scheduled); err != nil {
			t.Fatalf("no expiry job: %v", err)
		}
		if d := time.Until(scheduled); d < 9*time.Minute || d > 11*time.Minute {
			t.Errorf("the expiry runs in %s, want the page's 10 minutes", d)
		}
		// What ten minutes do: the job becomes due.
		if _, err := w.app.DB.Exec(context.Background(), `UPDATE river_job SET scheduled_at = now() WHERE kind = 'connection_install_expiry' AND state = 'scheduled'`); err != nil {
			t.Fatal(err)
		}
		w.startJobs(t)
		deadline := time.Now().Add(30 * time.Second)
		for w.marketplaceGrants(t) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the unanswered grant was not revoked")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if loc := w.answer(t, page.fields, "link", page.cookies); loc.Query().Get("reason") != "confirmation_expired" || connections() != 0 {
			t.Errorf("a late answer: %s, %d connections", loc, connections())
		}
	})

	t.Run("confirming links the account to the named tenant", func(t *testing.T) {
		page := w.confirmationPage(t, key)
		loc := w.answer(t, page.fields, "link", page.cookies)
		if loc.Query().Get("zoom") != "connected" || loc.Host != "app.example.test" || loc.Path != "/settings/zoom" {
			t.Fatalf("confirming redirected to %s", loc)
		}
		c := w.connection(t, key, loc.Query().Get("connection"))
		if c == nil || c["kind"] != "MARKETPLACE" || c["status"] != "ACTIVE" {
			t.Fatalf("the confirmed connection = %v", c)
		}
		if n := w.count(t, `SELECT count(*) FROM zoom_connections WHERE tenant_id = $1`, tenant); n != 1 {
			t.Errorf("the tenant holds %d connections", n)
		}
		if loc := w.answer(t, page.fields, "link", page.cookies); loc.Query().Get("zoom") != "error" {
			t.Errorf("a confirmation answered twice: %s", loc)
		}
	})
}
