package connections

import (
	"context"

	"zoomsignage/events"
)

// publishStatus announces a connection's status to subscribers. Publishing
// is best effort: the change is committed already, and a subscriber that
// misses it sees the state on its next query.
func (s *Service) publishStatus(ctx context.Context, c Connection) {
	if s.events == nil {
		return
	}
	ev := events.Event{
		Kind: events.ConnectionStatusChanged, TenantID: c.TenantID, ConnectionID: c.ID, At: s.now(),
		Connection: &events.ConnectionSnapshot{
			ID: c.ID, Status: string(c.Status), StatusReason: c.StatusReason,
			// The identity too, so subscribers answer without reading a row
			// that a disconnect may already have deleted.
			Kind: string(c.Kind), ZoomAccountID: c.ZoomAccountID, Label: c.Label,
			AdminName: c.AdminName, AdminEmail: c.AdminEmail,
			GrantedScopes: c.GrantedScopes, MissingScopes: c.MissingScopes, CreatedAt: c.CreatedAt,
		},
	}
	if err := s.events.Publish(context.WithoutCancel(ctx), ev); err != nil {
		s.log.WarnContext(ctx, "publishing a connection status failed", "connection_id", c.ID, "error", err.Error())
	}
}
