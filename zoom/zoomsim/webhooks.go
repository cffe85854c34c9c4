package zoomsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// AlertScope is the scope an app needs to receive zoomroom.alert events.
const AlertScope = "zoom_rooms:read:alert:admin"

// Alert kinds of the zoomroom.alert payload.
const (
	AlertTriggered = 1
	AlertCleared   = 2
)

// Delivery records one webhook the simulator sent.
type Delivery struct {
	Event    string          `json:"event"`
	URL      string          `json:"url"`
	ClientID string          `json:"client_id"`
	Body     json.RawMessage `json:"body"`
	Status   int             `json:"status"`
	Err      string          `json:"error,omitempty"`
}

type webhookLog struct {
	mu   sync.Mutex
	list []Delivery
}

// Deliveries returns the webhooks sent so far, oldest first.
func (s *Sim) Deliveries() []Delivery {
	s.webhooks.mu.Lock()
	defer s.webhooks.mu.Unlock()
	return slices.Clone(s.webhooks.list)
}

// Sign returns Zoom's x-zm-signature for body at timestamp ts (Unix
// seconds, as sent in x-zm-request-timestamp).
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// EncryptToken returns the encryptedToken that answers an
// endpoint.url_validation challenge.
func EncryptToken(secret, plainToken string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(plainToken))
	return hex.EncodeToString(m.Sum(nil))
}

// endpoint returns an app's webhook URL and secret.
func (s *Sim) endpoint(app App) (string, string) {
	u, sec := app.WebhookURL, app.WebhookSecret
	if u == "" {
		u = s.opts.WebhookURL
	}
	if sec == "" {
		sec = s.opts.WebhookSecret
	}
	return u, sec
}

// post signs and sends one event; it returns the response body.
func (s *Sim) post(ctx context.Context, app App, event string, body []byte) ([]byte, error) {
	u, secret := s.endpoint(app)
	if u == "" {
		return nil, fmt.Errorf("%w: app %s has no webhook URL", ErrInvalid, app.ClientID)
	}
	d := Delivery{Event: event, URL: u, ClientID: app.ClientID, Body: body}
	defer func() {
		s.webhooks.mu.Lock()
		s.webhooks.list = append(s.webhooks.list, d)
		s.webhooks.mu.Unlock()
	}()
	ts := strconv.FormatInt(s.now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		d.Err = err.Error()
		return nil, fmt.Errorf("zoomsim: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Zoom Marketplace/1.0a")
	req.Header.Set("x-zm-request-timestamp", ts)
	req.Header.Set("x-zm-signature", Sign(secret, ts, body))
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		d.Err = err.Error()
		return nil, fmt.Errorf("zoomsim: webhook %s: %w", event, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	d.Status = resp.StatusCode
	if resp.StatusCode/100 != 2 {
		d.Err = "status " + resp.Status
		return out, fmt.Errorf("zoomsim: webhook %s: endpoint answered %s", event, resp.Status)
	}
	return out, nil
}

// RaiseAlert sends a triggered zoomroom.alert for the room to every app
// of the room's account that holds AlertScope and has a webhook URL.
func (s *Sim) RaiseAlert(ctx context.Context, roomID string, a Alert) error {
	return s.sendAlert(ctx, roomID, a, AlertTriggered)
}

// ClearAlert sends the matching cleared zoomroom.alert (alert_kind 2).
func (s *Sim) ClearAlert(ctx context.Context, roomID string, a Alert) error {
	return s.sendAlert(ctx, roomID, a, AlertCleared)
}

func (s *Sim) sendAlert(ctx context.Context, roomID string, a Alert, kind int) error {
	if a.AlertType < 0 || a.AlertType > 10 || a.Component < 0 || a.Component > 6 {
		return fmt.Errorf("%w: alert_type 0..10, component 0..6", ErrInvalid)
	}
	rm, err := s.RoomInfo(ctx, roomID)
	if err != nil {
		return err
	}
	if a.Time.IsZero() {
		a.Time = s.now()
	}
	if a.Issue == "" {
		a.Issue = "Zoom Room is offline"
	}
	body, err := json.Marshal(map[string]any{
		"event":    "zoomroom.alert",
		"event_ts": s.now().UnixMilli(),
		"payload": map[string]any{
			"account_id": rm.AccountID,
			"object": map[string]any{
				"id": rm.ID, "room_name": rm.Name,
				"calendar_name": "room-" + rm.ID + "@example.com", "email": "room-" + rm.ID + "@example.com",
				"issue": a.Issue, "alert_type": a.AlertType, "component": a.Component,
				"alert_time": a.Time.UnixMilli(), "alert_kind": kind,
			},
		},
	})
	if err != nil {
		return fmt.Errorf("zoomsim: encode alert: %w", err)
	}
	var errs []error
	for _, app := range s.alertRecipients(rm.AccountID) {
		if _, err := s.post(ctx, app, "zoomroom.alert", body); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// alertRecipients are the apps installed on (or owned by, for S2S) the
// account that hold AlertScope and have a webhook URL.
func (s *Sim) alertRecipients(accountID string) []App {
	installed := map[string]bool{}
	s.tokens.mu.Lock()
	for g := range s.tokens.grants {
		if g.accountID == accountID {
			installed[g.clientID] = true
		}
	}
	s.tokens.mu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []App
	for id, app := range s.apps {
		owned := app.Kind == AppServer && app.AccountID == accountID
		if u, _ := s.endpoint(*app); u == "" || !(installed[id] || owned) || !slices.Contains(app.Scopes, AlertScope) {
			continue
		}
		out = append(out, *app)
	}
	slices.SortFunc(out, func(a, b App) int { return cmpString(a.ClientID, b.ClientID) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Deauthorize uninstalls an app from an account, as a user removing it in
// Zoom: it revokes the app's grants on the account and sends the signed
// app_deauthorized event to the app's webhook URL. userID may be empty (the
// account's first admin is used).
func (s *Sim) Deauthorize(ctx context.Context, clientID, accountID, userID string) error {
	s.mu.RLock()
	app, ok := s.apps[clientID]
	var a App
	if ok {
		a = *app
	}
	_, accOK := s.accounts[accountID]
	s.mu.RUnlock()
	if !ok || !accOK {
		return fmt.Errorf("%w: app %q or account %q", ErrNotFound, clientID, accountID)
	}
	if userID == "" {
		userID = s.ownerID(accountID)
	}
	if _, err := s.RevokeGrants(ctx, clientID, accountID); err != nil {
		return err
	}
	now := s.now()
	_, secret := s.endpoint(a)
	sig := EncryptToken(secret, accountID+":"+userID+":"+clientID)
	body, err := json.Marshal(map[string]any{
		"event":    "app_deauthorized",
		"event_ts": now.UnixMilli(),
		"payload": map[string]any{
			"account_id": accountID, "user_id": userID, "client_id": clientID,
			"signature": sig, "deauthorization_time": now.UTC().Format(time.RFC3339Nano),
			"event_ts": now.UnixMilli(),
		},
	})
	if err != nil {
		return fmt.Errorf("zoomsim: encode deauthorization: %w", err)
	}
	_, err = s.post(ctx, a, "app_deauthorized", body)
	return err
}

// ValidateEndpoint sends an endpoint.url_validation challenge to the app's
// webhook URL and checks the answer, as Zoom does when an admin saves the
// URL.
func (s *Sim) ValidateEndpoint(ctx context.Context, clientID string) error {
	s.mu.RLock()
	app, ok := s.apps[clientID]
	var a App
	if ok {
		a = *app
	}
	s.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: app %q", ErrNotFound, clientID)
	}
	plain := newSecret()
	body, _ := json.Marshal(map[string]any{
		"event": "endpoint.url_validation", "event_ts": s.now().UnixMilli(),
		"payload": map[string]string{"plainToken": plain},
	})
	out, err := s.post(ctx, a, "endpoint.url_validation", body)
	if err != nil {
		return err
	}
	var ans struct {
		PlainToken     string `json:"plainToken"`
		EncryptedToken string `json:"encryptedToken"`
	}
	if err := json.Unmarshal(out, &ans); err != nil {
		return fmt.Errorf("zoomsim: url validation answer: %w", err)
	}
	_, secret := s.endpoint(a)
	if ans.PlainToken != plain || !hmac.Equal([]byte(ans.EncryptedToken), []byte(EncryptToken(secret, plain))) {
		return fmt.Errorf("%w: url validation answer does not match", ErrInvalid)
	}
	return nil
}
