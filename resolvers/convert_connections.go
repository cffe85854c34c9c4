package resolvers

import (
	"context"

	"zoomsignage/apierror"
	"zoomsignage/auth"
	"zoomsignage/connections"
	"zoomsignage/graph/model"
	"zoomsignage/rooms"
	"zoomsignage/server"
)

// connectionSummary reads the summary of a connection its parent field
// already authorized (the tenant comes from the caller, never from the
// object). It lives here, not in the generated resolver file, so that
// regenerating keeps it.
func (r *zoomConnectionResolver) connectionSummary(ctx context.Context, obj *model.ZoomConnection) (rooms.ConnectionSummary, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return rooms.ConnectionSummary{}, apierror.New(apierror.Unauthenticated, "authentication required")
	}
	return loadSummary(ctx, obj.ID)
}

// connectionModel maps a connection; the summary fields (lastSync, counts)
// have their own resolvers.
func connectionModel(c connections.Connection) *model.ZoomConnection {
	m := &model.ZoomConnection{
		ID: c.ID, Kind: model.ZoomConnectionKind(c.Kind), ZoomAccountID: &c.ZoomAccountID, Label: c.Label,
		Status: model.ConnectionStatus(c.Status), GrantedScopes: nonNilStrings(c.GrantedScopes),
		MissingScopes: nonNilStrings(c.MissingScopes), CreatedAt: &c.CreatedAt,
	}
	if c.StatusReason != "" {
		reason := c.StatusReason
		m.StatusReason = &reason
	}
	if c.AdminName != "" || c.AdminEmail != "" {
		m.ConnectedBy = &model.ZoomAdmin{Name: c.AdminName, Email: c.AdminEmail}
	}
	return m
}

func disconnectReportModel(r connections.DisconnectReport) *model.DisconnectReport {
	m := &model.DisconnectReport{
		ConnectionID: r.ConnectionID, Revoked: r.Revoked, RoomsCleaned: r.RoomsCleaned,
		LicensesReleased: r.LicensesReleased, Leftovers: make([]*model.Leftover, 0, len(r.Leftovers)),
	}
	for _, l := range r.Leftovers {
		m.Leftovers = append(m.Leftovers, &model.Leftover{ZoomRoomID: l.ZoomRoomID, Name: l.Name, Reason: l.Reason})
	}
	return m
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// setInstallCookie sets the cookie binding a Marketplace install to the
// browser that began it. A browser install whose cookie cannot be set (the
// mutation sent over a websocket) would always fail at the callback, so it
// is refused at once.
func setInstallCookie(ctx context.Context, in connections.MarketplaceInstall) error {
	if in.BrowserCookie == nil {
		return nil
	}
	if err := server.SetCookie(ctx, in.BrowserCookie); err != nil {
		return apierror.New(apierror.BadUserInput, "beginZoomMarketplaceInstall must be sent over HTTP, not a websocket, so the install can be bound to this browser")
	}
	return nil
}
