// Package events carries what the rooms, connections and screens packages
// observe (room status, health and signage changes, sync progress,
// connection status, screens' program, online transitions and broadcasts)
// to GraphQL subscriptions on every replica and to partner webhooks:
// recorded in the Postgres outbox in the transaction of the change, relayed
// from there to Redis pub/sub per tenant (retried while Redis is down) and
// fanned out in process to each subscriber, deduplicated by event id, and
// by a relay of its own to webhook deliveries.
//
// An event carries everything a subscription needs to answer without
// touching Postgres (a snapshot of the room or connection), because one
// change may go to thousands of subscribers.
package events

import (
	"context"
	"time"
)

// Kind names what changed.
type Kind string

// The kinds of event, one per subscription of the API.
const (
	RoomStatusChanged       Kind = "room.status"
	RoomHealthChanged       Kind = "room.health"
	SignageStateChanged     Kind = "signage.state"
	SyncProgress            Kind = "sync.progress"
	ConnectionStatusChanged Kind = "connection.status"
	// ScreenProgramChanged tells screens to load their program again
	// (playlist, schedule or broadcast changed): Room names the one room,
	// or is nil for every screen of the tenant.
	ScreenProgramChanged Kind = "screen.program"
	// ScreenOnline and ScreenOffline are a room's screen crossing the
	// online window (a contact within screens.OnlineWindow): written once
	// per transition by the screens package (a contact after silence; its
	// periodic sweep once the window passes), for partner webhooks.
	ScreenOnline  Kind = "screen.online"
	ScreenOffline Kind = "screen.offline"
	// BroadcastStarted and BroadcastEnded are a broadcast going live and
	// ending (endBroadcast, or its endsAt passing), once each.
	BroadcastStarted Kind = "broadcast.started"
	BroadcastEnded   Kind = "broadcast.ended"
)

// Event is one change. TenantID scopes delivery: an event is only ever sent
// to subscribers of the same tenant. At is when the gateway detected the
// change (the start of the latency a subscriber sees).
type Event struct {
	// ID is the event's outbox id, set when it is relayed: subscribers
	// drop an id they already saw (a relay retried after a lost commit, a
	// catch-up after a Redis reconnect). Zero for events published
	// directly, which are never deduplicated.
	ID           int64     `json:"id,omitempty"`
	Kind         Kind      `json:"kind"`
	TenantID     string    `json:"tenantId"`
	ConnectionID string    `json:"connectionId"`
	At           time.Time `json:"at"`

	// Room is set for the room.* and signage.* kinds.
	Room *RoomSnapshot `json:"room,omitempty"`
	// PreviousStatus is the room status before a room.status change (empty
	// for a room seen for the first time). Status values are the GraphQL
	// enum names (AVAILABLE, IN_MEETING, OFFLINE, UNDER_CONSTRUCTION).
	PreviousStatus string `json:"previousStatus,omitempty"`
	// Alerts are the room's current alerts, for room.health.
	Alerts []AlertSnapshot `json:"alerts,omitempty"`
	// Signage is the room's assignment for signage.state (nil once removed).
	Signage *SignageSnapshot `json:"signage,omitempty"`
	// Sync is set for sync.progress.
	Sync *SyncSnapshot `json:"sync,omitempty"`
	// Connection is set for connection.status.
	Connection *ConnectionSnapshot `json:"connection,omitempty"`
	// Screen is set for screen.online and screen.offline (Room names the
	// room).
	Screen *ScreenSnapshot `json:"screen,omitempty"`
	// Broadcast is set for broadcast.started and broadcast.ended.
	Broadcast *BroadcastSnapshot `json:"broadcast,omitempty"`
}

// ScreenSnapshot is a room's screen at an online transition: LastSeenAt is
// its latest contact (for screen.offline, the contact after which it fell
// silent; the transition itself is at LastSeenAt plus the online window).
type ScreenSnapshot struct {
	Online     bool      `json:"online"`
	LastSeenAt time.Time `json:"lastSeenAt"`
}

// BroadcastSnapshot is a broadcast as it started or ended. RoomIDs lists
// the targeted rooms (empty with AllRooms: every activated room).
type BroadcastSnapshot struct {
	ID        string     `json:"id"`
	Message   string     `json:"message"`
	Severity  string     `json:"severity"`
	AllRooms  bool       `json:"allRooms"`
	RoomIDs   []string   `json:"roomIds,omitempty"`
	RoomCount int        `json:"roomCount"`
	StartedAt time.Time  `json:"startedAt"`
	StartedBy string     `json:"startedBy"`
	EndsAt    *time.Time `json:"endsAt,omitempty"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
}

// RoomSnapshot is a room as it was when the event was published.
type RoomSnapshot struct {
	ID           string     `json:"id"`
	ConnectionID string     `json:"connectionId"`
	ZoomRoomID   string     `json:"zoomRoomId"`
	Name         string     `json:"name"`
	Type         string     `json:"type"`
	LocationID   string     `json:"locationId,omitempty"`
	Status       string     `json:"status"`
	Online       bool       `json:"online"`
	LastSeenAt   *time.Time `json:"lastSeenAt,omitempty"`
	Health       string     `json:"health"`
}

// AlertSnapshot is one room alert.
type AlertSnapshot struct {
	Component   string     `json:"component"`
	AlertType   string     `json:"alertType"`
	Issue       string     `json:"issue"`
	State       string     `json:"state"`
	TriggeredAt time.Time  `json:"triggeredAt"`
	ClearedAt   *time.Time `json:"clearedAt,omitempty"`
}

// SignageSnapshot is a room's signage assignment.
type SignageSnapshot struct {
	State                    string     `json:"state"`
	ScreenURL                string     `json:"screenUrl"`
	Layout                   string     `json:"layout"`
	Muted                    bool       `json:"muted"`
	StartAfterMeetingMinutes int        `json:"startAfterMeetingMinutes"`
	StopBeforeMeetingMinutes int        `json:"stopBeforeMeetingMinutes"`
	ActivatedAt              time.Time  `json:"activatedAt"`
	ActivatedBy              string     `json:"activatedBy"`
	LastPushedAt             *time.Time `json:"lastPushedAt,omitempty"`
	LastError                string     `json:"lastError,omitempty"`
}

// SyncSnapshot is a sync run.
type SyncSnapshot struct {
	ID            string     `json:"id"`
	Trigger       string     `json:"trigger"`
	State         string     `json:"state"`
	StartedAt     time.Time  `json:"startedAt"`
	FinishedAt    *time.Time `json:"finishedAt,omitempty"`
	RoomsSeen     int        `json:"roomsSeen"`
	RoomsAdded    int        `json:"roomsAdded"`
	RoomsRemoved  int        `json:"roomsRemoved"`
	StatusChanges int        `json:"statusChanges"`
	ZoomCalls     int        `json:"zoomCalls"`
	Error         string     `json:"error,omitempty"`
}

// ConnectionSnapshot is a connection's status, plus the connection's
// identity so connectionStatusChanged can answer without a query. Publishers
// should fill every field; a subscriber that receives a snapshot without
// Kind reads the rest of the connection from Postgres.
type ConnectionSnapshot struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	StatusReason string `json:"statusReason,omitempty"`

	Kind          string    `json:"kind,omitempty"` // MARKETPLACE or SERVER_APP
	ZoomAccountID string    `json:"zoomAccountId,omitempty"`
	Label         string    `json:"label,omitempty"`
	AdminName     string    `json:"adminName,omitempty"`
	AdminEmail    string    `json:"adminEmail,omitempty"`
	GrantedScopes []string  `json:"grantedScopes,omitempty"`
	MissingScopes []string  `json:"missingScopes,omitempty"`
	CreatedAt     time.Time `json:"createdAt,omitzero"`
}

// Publisher sends events to every replica's subscribers. Publishing is
// best effort and never blocks the caller's work for long. Domain code does
// not publish directly: it adds events to the Outbox in the transaction of
// the change, and the outbox's relay publishes them (retrying while Redis
// is down).
type Publisher interface {
	Publish(ctx context.Context, events ...Event) error
}
