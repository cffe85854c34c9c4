package resolvers

import (
	"zoomsignage/apierror"
	"zoomsignage/auth"
	"zoomsignage/connections"
	"zoomsignage/graph/model"
	"zoomsignage/rooms"
)

// The mappings between the rooms domain and the GraphQL models.

// roomModel maps a room. Its devices, alerts, signage and connection are
// filled by the query that built it (fillRooms); the connection is seeded
// with its id for that (as rooms built from event snapshots are).
func roomModel(r rooms.Room) *model.Room {
	health := model.RoomHealth(r.Health)
	if !health.IsValid() {
		health = model.RoomHealthUnknown
	}
	out := &model.Room{
		ID: r.ID, ZoomRoomID: r.ZoomRoomID, Name: r.Name, Type: r.Type, Status: model.RoomStatus(r.Status),
		Online: r.Online, LastSeenAt: r.LastSeenAt, DevicesRefreshedAt: r.DevicesRefreshedAt, Health: health,
		Connection: &model.ZoomConnection{ID: r.ConnectionID},
	}
	if r.LocationID != "" {
		out.LocationID = &r.LocationID
	}
	return out
}

func deviceModels(ds []rooms.Device) []*model.Device {
	out := make([]*model.Device, len(ds))
	for i, d := range ds {
		out[i] = &model.Device{
			ID: d.ID, Type: d.Type, Model: optional(d.Model), Manufacturer: optional(d.Manufacturer), Os: optional(d.OS),
			AppVersion: optional(d.AppVersion), Firmware: optional(d.Firmware), Status: d.Status,
			Hostname: optional(d.Hostname), UpdatedAt: d.UpdatedAt,
		}
	}
	return out
}

func alertModels(as []rooms.Alert) []*model.RoomAlert {
	out := make([]*model.RoomAlert, len(as))
	for i, a := range as {
		out[i] = &model.RoomAlert{
			Component: rooms.ComponentName(a.Component), AlertType: rooms.AlertTypeName(a.AlertType), Issue: a.Issue,
			State: a.State, TriggeredAt: a.TriggeredAt, ClearedAt: a.ClearedAt,
		}
	}
	return out
}

func signageModel(a *rooms.Assignment) *model.SignageAssignment {
	if a == nil {
		return nil
	}
	return &model.SignageAssignment{
		State: model.SignageState(a.State), ScreenURL: a.ScreenURL, Layout: model.SignageLayout(a.Layout), Muted: a.Muted,
		DisplayPeriod: &model.DisplayPeriod{StartAfterMeetingMinutes: a.StartAfter, StopBeforeMeetingMinutes: a.StopBefore},
		ActivatedAt:   a.ActivatedAt, ActivatedBy: a.ActivatedBy, LastPushedAt: a.LastPushedAt, LastError: optional(a.LastError),
	}
}

func syncModel(r rooms.SyncRun) *model.SyncRun {
	return &model.SyncRun{
		ID: r.ID, ConnectionID: r.ConnectionID, Trigger: r.Trigger, State: model.SyncState(r.State),
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, RoomsSeen: r.RoomsSeen, RoomsAdded: r.RoomsAdded,
		RoomsRemoved: r.RoomsRemoved, StatusChanges: r.StatusChanges, ZoomCalls: r.ZoomCalls, Error: optional(r.Error),
	}
}

// signageResults maps a bulk call's per-room outcomes; an error is shown
// with its code and client-safe message.
func signageResults(rs []rooms.Result) []*model.SignageResult {
	out := make([]*model.SignageResult, len(rs))
	for i, r := range rs {
		res := &model.SignageResult{RoomID: r.RoomID, Ok: r.Done(), Signage: signageModel(r.Assignment)}
		if r.Err != nil {
			e, ok := apierror.As(r.Err)
			if !ok {
				e = apierror.New(apierror.Internal, "internal error")
			}
			res.Error = &model.ResultError{Code: string(e.Code), Message: e.Message}
		}
		out[i] = res
	}
	return out
}

// roomConnectionModel maps the connection of a room (Room.connection). The
// fields that need their own queries (lastSync, roomCount, ...) have their
// own resolvers.
func roomConnectionModel(c connections.Connection) *model.ZoomConnection {
	out := &model.ZoomConnection{
		ID: c.ID, Kind: model.ZoomConnectionKind(c.Kind), ZoomAccountID: &c.ZoomAccountID, Label: c.Label,
		Status: model.ConnectionStatus(c.Status), StatusReason: optional(c.StatusReason),
		GrantedScopes: eventStrings(c.GrantedScopes), MissingScopes: eventStrings(c.MissingScopes), CreatedAt: &c.CreatedAt,
	}
	if c.AdminName != "" || c.AdminEmail != "" {
		out.ConnectedBy = &model.ZoomAdmin{Name: c.AdminName, Email: c.AdminEmail}
	}
	return out
}

func roomFilter(connectionID *string, f *model.RoomFilter) rooms.Filter {
	out := rooms.Filter{ConnectionID: deref(connectionID, "")}
	if f == nil {
		return out
	}
	for _, s := range f.Status {
		out.Statuses = append(out.Statuses, string(s))
	}
	for _, h := range f.Health {
		out.Healths = append(out.Healths, string(h))
	}
	out.Online, out.Activated, out.LocationID = f.Online, f.Activated, f.LocationID
	out.NameContains = deref(f.NameContains, "")
	return out
}

func signageSettings(in *model.SignageSettingsInput) rooms.Settings {
	if in == nil {
		return rooms.Settings{}
	}
	var out rooms.Settings
	if in.Layout != nil {
		l := string(*in.Layout)
		out.Layout = &l
	}
	out.Muted = in.Muted
	if p := in.DisplayPeriod; p != nil {
		out.DisplayPeriod = &rooms.DisplayPeriod{
			StartAfterMeetingMinutes: p.StartAfterMeetingMinutes, StopBeforeMeetingMinutes: p.StopBeforeMeetingMinutes,
		}
	}
	return out
}

func actorOf(p *auth.Principal) rooms.Actor { return rooms.Actor{TenantID: p.TenantID, Name: p.Actor} }

// optional is nil for an empty string, for nullable fields.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
