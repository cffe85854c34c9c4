package connections

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/auth"
	"zoomsignage/store"
	"zoomsignage/syncjob"
	"zoomsignage/zoom"
)

// ServerAppInput is what an admin types to connect a Server-to-Server app.
type ServerAppInput struct {
	AccountID    string
	ClientID     string
	ClientSecret string // write-only: sealed, never returned or logged
	Label        string
	Plan         string // free, pro or business; pro when empty
}

// ServerAppCredentials replace a Server-to-Server connection's credentials.
type ServerAppCredentials struct {
	ClientID     string
	ClientSecret string
}

// Input limits: long enough for any Zoom id, short enough to bound storage.
const (
	maxIDLength     = 200
	maxSecretLength = 500
	maxLabelLength  = 200
)

const (
	sqlInsertConnection = `INSERT INTO zoom_connections
       (tenant_id, kind, zoom_account_id, client_id, label, plan, admin_user_id, admin_name, admin_email,
        status, status_reason, reported_status, granted_scopes, missing_scopes, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULLIF($11, ''), $10, $12, $13, $14)
RETURNING id`
	sqlLockForUpdate = `SELECT ` + connectionColumns + `
  FROM zoom_connections
 WHERE id = $1 AND tenant_id = $2
   FOR UPDATE`
	sqlUpdateServerApp = `UPDATE zoom_connections
   SET client_id = $3, admin_user_id = $4, admin_name = $5, admin_email = $6,
       status = $7, status_reason = NULLIF($8, ''), reported_status = $7,
       granted_scopes = $9, missing_scopes = $10, updated_at = now()
 WHERE id = $1 AND tenant_id = $2`
)

// validated is what Zoom told us while validating credentials.
type validated struct {
	granted         []string
	optionalMissing []string
	admin           *zoom.User
}

// ConnectServerApp validates the credentials at once (a token, one page of
// rooms, /users/me), then stores the connection with the secret sealed, an
// audit event and the first sync, all in one transaction. Nothing is
// written when Zoom refuses.
func (s *Service) ConnectServerApp(ctx context.Context, p *auth.Principal, in ServerAppInput) (Connection, error) {
	in, err := cleanServerAppInput(in)
	if err != nil {
		return Connection{}, err
	}
	creds := zoom.AppCredentials{ClientID: in.ClientID, ClientSecret: in.ClientSecret}
	v, err := s.validateServerApp(ctx, in.AccountID, zoom.Plan(in.Plan), creds)
	if err != nil {
		return Connection{}, fmt.Errorf("connections.ConnectServerApp: %w", err)
	}
	status, reason := scopeStatus(v.optionalMissing)
	var id string
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, sqlInsertConnection, p.TenantID, zoom.KindServerApp, in.AccountID, in.ClientID,
			in.Label, in.Plan, v.admin.ID, adminName(v.admin), v.admin.Email, status, reason,
			nonNil(v.granted), nonNil(v.optionalMissing), p.Actor).Scan(&id)
		if store.ConstraintError(err) == "zoom_connections_account" {
			return apierror.Invalid("input.accountId", "this Zoom account is already connected")
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		ref := zoom.ConnectionRef{ID: id, TenantID: p.TenantID}
		if err := s.tokens.SaveClientSecret(ctx, tx, ref, in.ClientSecret); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Event{
			TenantID: p.TenantID, Actor: p.Actor, Action: "connection.connected",
			TargetType: "zoom_connection", TargetID: id,
			Details: map[string]any{"kind": string(zoom.KindServerApp), "zoomAccountId": in.AccountID,
				"clientId": in.ClientID, "label": in.Label, "admin": v.admin.Email, "missingScopes": nonNil(v.optionalMissing)},
		}); err != nil {
			return err
		}
		if err := s.enqueueSync(ctx, tx, p.TenantID, id, syncjob.TriggerConnect); err != nil {
			return err
		}
		return s.emitStatusOf(ctx, tx, p.TenantID, id)
	})
	if err != nil {
		return Connection{}, fmt.Errorf("connections.ConnectServerApp: %w", err)
	}
	return s.Get(ctx, p.TenantID, id)
}

// UpdateServerAppCredentials validates new credentials for the
// connection's Zoom account and only then replaces the stored ones. The
// secret is required again (it is write-only). A connection that needed
// reauthorization becomes ACTIVE (or MISSING_SCOPE) and syncs again.
func (s *Service) UpdateServerAppCredentials(ctx context.Context, p *auth.Principal, id string, in ServerAppCredentials) (Connection, error) {
	in.ClientID, in.ClientSecret = strings.TrimSpace(in.ClientID), strings.TrimSpace(in.ClientSecret)
	if err := checkCredentials("input", in.ClientID, in.ClientSecret); err != nil {
		return Connection{}, err
	}
	c, err := s.Get(ctx, p.TenantID, id)
	if err != nil {
		return Connection{}, err
	}
	if err := checkUpdatable(c); err != nil {
		return Connection{}, err
	}
	creds := zoom.AppCredentials{ClientID: in.ClientID, ClientSecret: in.ClientSecret}
	v, err := s.validateServerApp(ctx, c.ZoomAccountID, c.Plan, creds)
	if err != nil {
		return Connection{}, fmt.Errorf("connections.UpdateServerAppCredentials: %w", err)
	}
	status, reason := scopeStatus(v.optionalMissing)
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlLockForUpdate, c.ID, c.TenantID)
		if err != nil {
			return err
		}
		locked, err := pgx.CollectExactlyOneRow(rows, scanConnection)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotFound()
		}
		if err != nil {
			return err
		}
		if err := checkUpdatable(locked); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlUpdateServerApp, c.ID, c.TenantID, in.ClientID, v.admin.ID, adminName(v.admin),
			v.admin.Email, status, reason, nonNil(v.granted), nonNil(v.optionalMissing)); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if err := s.tokens.SaveClientSecret(ctx, tx, zoom.ConnectionRef{ID: c.ID, TenantID: c.TenantID}, in.ClientSecret); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Event{
			TenantID: p.TenantID, Actor: p.Actor, Action: "connection.credentials_updated",
			TargetType: "zoom_connection", TargetID: c.ID,
			Details: map[string]any{"clientId": in.ClientID, "previousStatus": string(locked.Status), "status": string(status)},
		}); err != nil {
			return err
		}
		if err := s.enqueueSync(ctx, tx, c.TenantID, c.ID, syncjob.TriggerConnect); err != nil {
			return err
		}
		if status == locked.Status {
			return nil
		}
		return s.emitStatusOf(ctx, tx, c.TenantID, c.ID)
	})
	if err != nil {
		return Connection{}, fmt.Errorf("connections.UpdateServerAppCredentials: %w", err)
	}
	s.zoom.ForgetConnection(c.ID)
	return s.Get(ctx, p.TenantID, id)
}

func checkUpdatable(c Connection) error {
	if c.Kind != zoom.KindServerApp {
		return apierror.Invalid("id", "only Server-to-Server connections have credentials to update; reinstall the Marketplace app instead")
	}
	if c.Status == StatusDisconnecting {
		return apierror.Invalid("id", "this Zoom connection is being disconnected")
	}
	return nil
}

// validateServerApp proves the credentials work for the account: a token,
// the scopes it carries, one page of rooms and /users/me. Nothing is cached
// (NoCache) so a cached answer cannot vouch for a wrong secret.
func (s *Service) validateServerApp(ctx context.Context, accountID string, plan zoom.Plan, creds zoom.AppCredentials) (validated, error) {
	tok, err := s.zoom.ServerAppToken(ctx, creds, accountID)
	if err != nil {
		return validated{}, connectError(err)
	}
	v, err := s.validateGrant(ctx, accountID, plan, tok)
	if err != nil {
		return validated{}, err
	}
	if v.admin.AccountID != "" && v.admin.AccountID != accountID {
		return validated{}, apierror.New(apierror.ZoomCredentialsRejected, "the credentials belong to another Zoom account than %q", accountID)
	}
	return v, nil
}

// validateGrant checks a fresh token of either kind: its scopes, one page
// of rooms, and who it belongs to.
func (s *Service) validateGrant(ctx context.Context, accountID string, plan zoom.Plan, tok *zoom.OAuthToken) (validated, error) {
	required, optional := missingScopes(tok.Scopes)
	if len(required) > 0 {
		return validated{}, missingScopesError(append(required, optional...))
	}
	ac := s.zoom.For(zoom.Account{ZoomAccountID: accountID, Plan: plan, Tokens: zoom.StaticToken(tok.AccessToken), NoCache: true})
	if _, err := ac.ListRoomsPage(ctx, zoom.RoomFilter{}, ""); err != nil {
		return validated{}, connectError(err)
	}
	me, err := ac.Me(ctx)
	if err != nil {
		return validated{}, connectError(err)
	}
	return validated{granted: tok.Scopes, optionalMissing: optional, admin: me}, nil
}

func cleanServerAppInput(in ServerAppInput) (ServerAppInput, error) {
	in.AccountID = strings.TrimSpace(in.AccountID)
	in.ClientID = strings.TrimSpace(in.ClientID)
	in.ClientSecret = strings.TrimSpace(in.ClientSecret)
	in.Label = strings.TrimSpace(in.Label)
	in.Plan = strings.ToLower(strings.TrimSpace(in.Plan))
	if in.AccountID == "" || len(in.AccountID) > maxIDLength {
		return in, apierror.Invalid("input.accountId", "accountId is required (at most %d characters)", maxIDLength)
	}
	if err := checkCredentials("input", in.ClientID, in.ClientSecret); err != nil {
		return in, err
	}
	if len(in.Label) > maxLabelLength {
		return in, apierror.Invalid("input.label", "label must be at most %d characters", maxLabelLength)
	}
	if in.Label == "" {
		in.Label = "Zoom account " + in.AccountID
	}
	switch zoom.Plan(in.Plan) {
	case "":
		in.Plan = string(zoom.PlanPro)
	case zoom.PlanFree, zoom.PlanPro, zoom.PlanBusiness:
	default:
		return in, apierror.Invalid("input.plan", "plan must be free, pro or business")
	}
	return in, nil
}

func checkCredentials(prefix, clientID, secret string) error {
	if clientID == "" || len(clientID) > maxIDLength {
		return apierror.Invalid(prefix+".clientId", "clientId is required (at most %d characters)", maxIDLength)
	}
	if secret == "" || len(secret) > maxSecretLength {
		return apierror.Invalid(prefix+".clientSecret", "clientSecret is required (at most %d characters)", maxSecretLength)
	}
	return nil
}

func adminName(u *zoom.User) string {
	if n := strings.TrimSpace(u.DisplayName); n != "" {
		return n
	}
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// enqueueSync inserts a sync of the connection in tx.
func (s *Service) enqueueSync(ctx context.Context, tx pgx.Tx, tenantID, connectionID, trigger string) error {
	rc := s.cfg.River
	if rc == nil {
		return errors.New("connections.enqueueSync: the River client is not wired")
	}
	if err := syncjob.Enqueue(ctx, rc, tx, syncjob.Args{TenantID: tenantID, ConnectionID: connectionID, Trigger: trigger}); err != nil {
		return fmt.Errorf("connections.enqueueSync: %w", err)
	}
	return nil
}
