package zoomsim

import (
	"html/template"
	"net/http"
	"sort"
)

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Zoom simulator: authorize app</title></head>
<body>
<h1>Authorize app</h1>
<p>The app <b>{{.App.ClientID}}</b> asks for these scopes:</p>
<ul>{{range .App.Scopes}}<li><code>{{.}}</code></li>{{end}}</ul>
<form method="post" action="/oauth/authorize">
<input type="hidden" name="response_type" value="{{.Req.ResponseType}}">
<input type="hidden" name="client_id" value="{{.Req.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.Req.RedirectURI}}">
<input type="hidden" name="state" value="{{.Req.State}}">
<input type="hidden" name="code_challenge" value="{{.Req.CodeChallenge}}">
<input type="hidden" name="code_challenge_method" value="{{.Req.CodeChallengeMethod}}">
<label>Sign in as
<select name="user_id">{{range .Users}}<option value="{{.ID}}">{{.Email}} ({{.AccountID}}{{if .Admin}}, admin{{end}})</option>{{end}}</select>
</label>
<p><button name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button></p>
</form>
</body></html>
`))

// writeConsentPage renders the Approve/Deny page; the user list lets a
// demo pick who answers (admin or not).
func (s *Sim) writeConsentPage(w http.ResponseWriter, app App, req AuthorizeRequest) {
	s.mu.RLock()
	users := make([]User, 0, len(s.users))
	for _, u := range s.users {
		users = append(users, *u)
	}
	s.mu.RUnlock()
	sort.Slice(users, func(i, j int) bool { return users[i].Email < users[j].Email })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	consentTmpl.Execute(w, struct {
		App   App
		Req   AuthorizeRequest
		Users []User
	}{app, req, users})
}
