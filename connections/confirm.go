package connections

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"

	"zoomsignage/tenants"
	"zoomsignage/zoom"
)

// An install begun with an API key is bound to no browser: the partner's
// backend hands the authorize URL to someone, and whoever approves it in
// Zoom would link their company's account to the caller's tenant. So the
// callback of such an install links nothing. It parks the fresh grant
// (sealed with Vault for the tenant, in Redis under the hash of a random
// confirmation id) and answers a page of ours that names the tenant about
// to receive the account. Only a form posted from that page, in that
// browser (a CSRF token in the form and in a SameSite=Strict cookie set
// with the page), links the account; declining, or leaving the page
// unanswered until it expires, links nothing and revokes the grant.

// ConfirmPath is where the confirmation page posts its answer; the app
// mounts ConfirmRoute there.
const ConfirmPath = "/oauth/zoom/confirm"

// confirmTTL is how long the confirmation page may be answered.
const confirmTTL = 10 * time.Minute

// parkedTTL keeps the sealed grant in Redis past confirmTTL, so the expiry
// job still finds an unanswered grant to revoke.
const parkedTTL = confirmTTL + time.Hour

// maxConfirmForm bounds the body of a confirmation post (ours is ~200 bytes).
const maxConfirmForm = 4 << 10

// Decisions of the confirmation form.
const (
	decisionLink    = "link"
	decisionDecline = "decline"
)

// Confirmation outcomes (the reason parameter of ?zoom=error).
const (
	ReasonDeclined        = "declined"
	ReasonConfirmInvalid  = "confirmation_invalid"
	ReasonConfirmExpired  = "confirmation_expired"
	ReasonConfirmAnswered = "confirmation_already_answered"
)

// grant is what Zoom handed over for an approved install: the tokens, the
// installing user, and the optional scopes the grant lacks.
type grant struct {
	User     zoom.User       `json:"user"`
	Token    zoom.OAuthToken `json:"token"`
	Optional []string        `json:"optional"`
}

// parkedGrant is an unbound install waiting for its confirmation.
type parkedGrant struct {
	State     installState `json:"state"`
	Grant     grant        `json:"grant"`
	CSRFHash  string       `json:"csrf_hash"`
	ExpiresAt time.Time    `json:"expires_at"`
}

// parkedRecord is the Redis value: the tenant names the Vault context the
// grant was sealed for.
type parkedRecord struct {
	TenantID string `json:"tenant_id"`
	Sealed   string `json:"sealed"`
}

// confirmPage is what the confirmation page shows and posts back.
type confirmPage struct {
	Action       string
	Confirmation string
	CSRF         string
	Tenant       string
	AccountID    string
	Admin        string
	ExpiresAt    time.Time
	cookie       *http.Cookie
}

// parkGrant keeps g until the person in the approving browser answers the
// confirmation page, and schedules its revocation for when nobody does.
func (s *Service) parkGrant(ctx context.Context, st installState, g grant) (*confirmPage, error) {
	tenant, err := tenants.Get(ctx, s.db, st.TenantID)
	if err != nil {
		return nil, fmt.Errorf("connections.parkGrant: %w", err)
	}
	id, csrf := randomToken(), randomToken()
	p := parkedGrant{State: st, Grant: g, CSRFHash: stateHash(csrf), ExpiresAt: s.now().Add(confirmTTL)}
	plain, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("connections.parkGrant: %w", err)
	}
	sealed, err := s.cfg.Sealer.Seal(ctx, st.TenantID, plain)
	if err != nil {
		return nil, fmt.Errorf("connections.parkGrant: seal: %w", err)
	}
	rec, _ := json.Marshal(parkedRecord{TenantID: st.TenantID, Sealed: sealed})
	h := stateHash(id)
	if err := s.rdb.Set(ctx, s.confirmKey(h), rec, parkedTTL).Err(); err != nil {
		return nil, fmt.Errorf("connections.parkGrant: store: %w", err)
	}
	s.scheduleExpiry(ctx, h, p.ExpiresAt)
	return &confirmPage{
		Action: ConfirmPath, Confirmation: id, CSRF: csrf, Tenant: tenant.Name,
		AccountID: g.User.AccountID, Admin: g.User.Email, ExpiresAt: p.ExpiresAt,
		cookie: s.confirmCookie(h, csrf, int(confirmTTL/time.Second)),
	}, nil
}

// scheduleExpiry enqueues the job that revokes the parked grant h if it is
// still unanswered at expiresAt. Without it (River not wired, or down) an
// unanswered grant is only discarded, which is logged.
func (s *Service) scheduleExpiry(ctx context.Context, h string, expiresAt time.Time) {
	rc := s.cfg.River
	var err error
	if rc == nil {
		err = errors.New("the River client is not wired")
	} else {
		_, err = rc.Insert(ctx, InstallExpiryArgs{ConfirmationHash: h}, &river.InsertOpts{ScheduledAt: expiresAt})
	}
	if err != nil {
		s.log.WarnContext(ctx, "scheduling the revocation of an unanswered install failed; it will only be discarded", "error", err.Error())
	}
}

// confirmCookie holds the page's CSRF token: named after the confirmation
// (two pending confirmations in one browser keep their own), sent only to
// ConfirmPath and only from our own pages (SameSite=Strict: a cross-site
// form cannot carry it). maxAge < 0 clears it.
func (s *Service) confirmCookie(h, csrf string, maxAge int) *http.Cookie {
	base, _ := url.Parse(s.cfg.PublicBaseURL)
	return &http.Cookie{
		Name: confirmCookieName(h), Value: csrf, Path: ConfirmPath, MaxAge: maxAge,
		HttpOnly: true, Secure: base != nil && base.Scheme == "https", SameSite: http.SameSiteStrictMode,
	}
}

func confirmCookieName(h string) string { return "zs_confirm_" + h[:16] }

func (s *Service) confirmKey(h string) string { return s.prefix + "connections:install-confirm:" + h }

// confirmTemplate is the confirmation page. The first submit button links
// (it is what Enter does), the second declines.
var confirmTemplate = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link this Zoom account?</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}
button{font:inherit;padding:.5rem 1rem;margin-right:.5rem}.warn{color:#8a4b00}</style></head>
<body><main>
<h1>Link this Zoom account to {{.Tenant}}?</h1>
<p>You approved zoomsignage in Zoom for the account <strong>{{.AccountID}}</strong>{{if .Admin}} as <strong>{{.Admin}}</strong>{{end}}.
Linking gives the zoomsignage organization <strong>{{.Tenant}}</strong> access to this account's Zoom Rooms: their status, devices and signage.</p>
<p class="warn">Link only if you started this install for {{.Tenant}}. If someone sent you the link, decline: nothing is linked and the approval is withdrawn.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="confirmation" value="{{.Confirmation}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit" name="decision" value="link">Link to {{.Tenant}}</button>
<button type="submit" name="decision" value="decline">Decline</button>
</form>
<p><small>This page can be answered until {{.ExpiresAt.UTC.Format "15:04 UTC"}}.</small></p>
</main></body></html>
`))

// writeConfirmPage answers the callback with the confirmation page, framed
// by no one (a hidden frame could click its first button), running no
// script and posting only to us. form-action also governs where the post's
// redirect may go (Chromium enforces it on redirects), so it names the web
// app's origins the install may return to besides our own.
func (s *Service) writeConfirmPage(w http.ResponseWriter, p *confirmPage) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+s.formActionSources()+
		"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	http.SetCookie(w, p.cookie)
	w.WriteHeader(http.StatusOK)
	_ = confirmTemplate.Execute(w, p) // only a failed write can fail, and the browser is gone then
}

// formActionSources is 'self' and the origins of PUBLIC_BASE_URL and of
// ZOOM_INSTALL_RETURN_ORIGINS: where the confirmation's redirect may land.
func (s *Service) formActionSources() string {
	sources := []string{"'self'"}
	if u, err := url.Parse(s.cfg.PublicBaseURL); err == nil && u.Scheme != "" && u.Host != "" {
		sources = append(sources, u.Scheme+"://"+u.Host)
	}
	for _, o := range s.cfg.ReturnOrigins {
		if u, err := url.Parse(o); err == nil && u.Scheme != "" && u.Host != "" && !strings.ContainsAny(o, " ;,'") {
			sources = append(sources, u.Scheme+"://"+u.Host)
		}
	}
	return strings.Join(sources, " ")
}

// ConfirmRoute returns the handler of POST /oauth/zoom/confirm, the answer
// of the confirmation page: it redirects to the install's return URL with
// ?zoom=connected&connection=ID or ?zoom=error&reason=….
func (s *Service) ConfirmRoute() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		r.Body = http.MaxBytesReader(w, r.Body, maxConfirmForm)
		fallback, _ := s.checkReturnTo("")
		if err := r.ParseForm(); err != nil {
			http.Redirect(w, r, withQuery(fallback, "zoom", "error", "reason", ReasonConfirmInvalid), http.StatusSeeOther)
			return
		}
		id := r.PostForm.Get("confirmation")
		cookie := ""
		if id != "" && len(id) <= maxStateLength {
			if c, err := r.Cookie(confirmCookieName(stateHash(id))); err == nil {
				cookie = c.Value
			}
		}
		target, answered := s.answerConfirmation(r.Context(), id, r.PostForm.Get("csrf"), cookie, r.PostForm.Get("decision"))
		if answered {
			http.SetCookie(w, s.confirmCookie(stateHash(id), "", -1))
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}

// answerConfirmation checks a confirmation post and carries out its
// decision. A post that fails the CSRF check leaves the parked grant for
// the real answer; any other outcome consumes it (answered is true).
func (s *Service) answerConfirmation(ctx context.Context, id, csrf, cookie, decision string) (target string, answered bool) {
	fallback, _ := s.checkReturnTo("")
	refuse := func(reason string) (string, bool) {
		return withQuery(fallback, "zoom", "error", "reason", reason), false
	}
	if id == "" || len(id) > maxStateLength || csrf == "" || (decision != decisionLink && decision != decisionDecline) {
		return refuse(ReasonConfirmInvalid)
	}
	h := stateHash(id)
	p, reason := s.readParked(ctx, h)
	if reason != "" {
		return refuse(reason)
	}
	if subtle.ConstantTimeCompare([]byte(csrf), []byte(cookie)) != 1 ||
		subtle.ConstantTimeCompare([]byte(stateHash(csrf)), []byte(p.CSRFHash)) != 1 {
		s.log.WarnContext(ctx, "an install confirmation without its page's CSRF token was refused")
		return refuse(ReasonConfirmInvalid)
	}
	if n, err := s.rdb.Del(ctx, s.confirmKey(h)).Result(); err != nil || n == 0 {
		// Another post of the same page won the race (or Redis failed):
		// that one carries the decision.
		return refuse(ReasonConfirmAnswered)
	}
	ret := p.State.ReturnTo
	switch {
	case !s.now().Before(p.ExpiresAt):
		s.revokeUnused(ctx, &p.Grant.Token, p.Grant.User.AccountID)
		return withQuery(ret, "zoom", "error", "reason", ReasonConfirmExpired), true
	case decision == decisionDecline:
		s.log.InfoContext(ctx, "an install confirmation was declined; its grant is revoked", "tenant", p.State.TenantID)
		s.revokeUnused(ctx, &p.Grant.Token, p.Grant.User.AccountID)
		return withQuery(ret, "zoom", "error", "reason", ReasonDeclined), true
	}
	id, reason = s.linkGrant(ctx, p.State, p.Grant)
	if reason != "" {
		return withQuery(ret, "zoom", "error", "reason", reason), true
	}
	return withQuery(ret, "zoom", "connected", "connection", id), true
}

// readParked reads and opens the parked grant h, or tells why it cannot.
func (s *Service) readParked(ctx context.Context, h string) (parkedGrant, string) {
	raw, err := s.rdb.Get(ctx, s.confirmKey(h)).Bytes()
	if errors.Is(err, redis.Nil) {
		return parkedGrant{}, ReasonConfirmExpired
	}
	if err != nil {
		s.log.ErrorContext(ctx, "reading an install confirmation failed", "error", err.Error())
		return parkedGrant{}, ReasonInternal
	}
	p, err := s.openParked(ctx, raw)
	if err != nil {
		s.log.ErrorContext(ctx, "opening an install confirmation failed", "error", err.Error())
		return parkedGrant{}, ReasonInternal
	}
	return p, ""
}

func (s *Service) openParked(ctx context.Context, raw []byte) (parkedGrant, error) {
	var rec parkedRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return parkedGrant{}, fmt.Errorf("connections.openParked: %w", err)
	}
	plain, err := s.cfg.Sealer.Open(ctx, rec.TenantID, rec.Sealed)
	if err != nil {
		return parkedGrant{}, fmt.Errorf("connections.openParked: %w", err)
	}
	var p parkedGrant
	if err := json.Unmarshal(plain, &p); err != nil {
		return parkedGrant{}, fmt.Errorf("connections.openParked: %w", err)
	}
	return p, nil
}

// InstallExpiryArgs is the River job that revokes an install confirmation's
// grant when nobody answered the page in time.
type InstallExpiryArgs struct {
	ConfirmationHash string `json:"confirmation_hash"`
}

// Kind implements river.JobArgs.
func (InstallExpiryArgs) Kind() string { return "connection_install_expiry" }

// InstallExpiryWorker runs Service.ExpireConfirmation.
type InstallExpiryWorker struct {
	river.WorkerDefaults[InstallExpiryArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *InstallExpiryWorker) Work(ctx context.Context, job *river.Job[InstallExpiryArgs]) error {
	return w.Service.ExpireConfirmation(ctx, job.Args.ConfirmationHash)
}

// ExpireConfirmation revokes the grant of the confirmation h if it is still
// unanswered; an answered one is gone from Redis and nothing happens. The
// grant is opened before it is taken out, so a Vault outage leaves it for
// the job's retry; whichever of this job and a late answer deletes it
// revokes it (a late answer finds it expired).
func (s *Service) ExpireConfirmation(ctx context.Context, h string) error {
	raw, err := s.rdb.Get(ctx, s.confirmKey(h)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("connections.ExpireConfirmation: %w", err)
	}
	p, err := s.openParked(ctx, raw)
	if err != nil {
		return fmt.Errorf("connections.ExpireConfirmation: %w", err)
	}
	n, err := s.rdb.Del(ctx, s.confirmKey(h)).Result()
	if err != nil {
		return fmt.Errorf("connections.ExpireConfirmation: %w", err)
	}
	if n == 0 {
		return nil
	}
	s.log.InfoContext(ctx, "an install confirmation expired unanswered; its grant is revoked", "tenant", p.State.TenantID)
	s.revokeUnused(ctx, &p.Grant.Token, p.Grant.User.AccountID)
	return nil
}
