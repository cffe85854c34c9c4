package rooms

import (
	"context"

	"zoomsignage/apierror"
	"zoomsignage/connections"
	"zoomsignage/zoom"
)

// FromConnections adapts the connections service to what rooms needs.
func FromConnections(svc *connections.Service) Connections { return connectionsAdapter{svc} }

type connectionsAdapter struct{ svc *connections.Service }

func (c connectionsAdapter) ZoomClient(ctx context.Context, tenantID, connectionID string) (*zoom.AccountClient, error) {
	return c.svc.ZoomClient(ctx, tenantID, connectionID)
}

func (c connectionsAdapter) Syncable(ctx context.Context) ([]ConnectionRef, error) {
	list, err := c.svc.ListSyncable(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ConnectionRef, len(list))
	for i, conn := range list {
		out[i] = ConnectionRef{ID: conn.ID, TenantID: conn.TenantID}
	}
	return out, nil
}

// Check lets a sync run on an active connection, one missing a scope (the
// calls it still may make work) or one in error (a sync is how it shows it
// recovered); it refuses connections that need reauthorization or are being
// disconnected.
func (c connectionsAdapter) Check(ctx context.Context, tenantID, connectionID string) error {
	conn, err := c.svc.Get(ctx, tenantID, connectionID)
	if err != nil {
		return err
	}
	switch conn.Status {
	case connections.StatusReauthRequired:
		return apierror.New(apierror.ZoomReauthRequired, "Zoom no longer accepts this connection's authorization; connect the Zoom account again")
	case connections.StatusDisconnecting:
		return apierror.New(apierror.BadUserInput, "this Zoom connection is being disconnected")
	}
	return nil
}
