package rooms

import (
	"time"

	"zoomsignage/zoom"
)

// Room statuses, as stored and as the GraphQL enum names them.
const (
	StatusAvailable         = "AVAILABLE"
	StatusInMeeting         = "IN_MEETING"
	StatusOffline           = "OFFLINE"
	StatusUnderConstruction = "UNDER_CONSTRUCTION"
)

// Room health values.
const (
	HealthOK       = "OK"
	HealthWarning  = "WARNING"
	HealthCritical = "CRITICAL"
	HealthUnknown  = "UNKNOWN"
)

// Signage assignment states.
const (
	SignagePushing  = "PUSHING"
	SignageActive   = "ACTIVE"
	SignagePending  = "PENDING_ZOOM_ENABLE"
	SignageFailed   = "FAILED"
	SignageRemoving = "REMOVING"
)

// Signage layouts (GraphQL enum names).
const (
	LayoutStandard     = "STANDARD"
	LayoutVideoContent = "VIDEO_CONTENT"
)

// Sync run states.
const (
	SyncRunning   = "RUNNING"
	SyncSucceeded = "SUCCEEDED"
	SyncFailed    = "FAILED"
)

// Room is one synced Zoom Room.
type Room struct {
	ID                 string
	TenantID           string
	ConnectionID       string
	ZoomRoomID         string
	ZoomDashboardID    string
	Name               string
	Type               string
	LocationID         string
	Status             string
	Online             bool
	LastSeenAt         *time.Time
	Health             string
	DevicesRefreshedAt *time.Time
}

// Device is one device of a room.
type Device struct {
	ID           string
	RoomID       string
	ZoomDeviceID string
	Type         string
	Model        string
	Manufacturer string
	OS           string
	AppVersion   string
	Firmware     string
	Status       string
	Hostname     string
	UpdatedAt    time.Time
}

// Alert is the latest state of one (component, alert type) of a room.
type Alert struct {
	RoomID      string
	Component   int
	AlertType   int
	Issue       string
	State       string // TRIGGERED or CLEARED
	TriggeredAt time.Time
	ClearedAt   *time.Time
}

// Alert states.
const (
	AlertTriggered = "TRIGGERED"
	AlertCleared   = "CLEARED"
)

// Assignment is our signage on one room; it holds one license.
type Assignment struct {
	RoomID        string
	TenantID      string
	ConnectionID  string
	State         string
	ScreenURL     string
	ZoomContentID string
	ContentListID string
	Layout        string
	Muted         bool
	StartAfter    int
	StopBefore    int
	ActivatedAt   time.Time
	ActivatedBy   string
	LastPushedAt  *time.Time
	LastError     string
	PushAttempts  int
	UpdatedAt     time.Time
}

// SyncRun is one sync of a connection.
type SyncRun struct {
	ID            string
	TenantID      string
	ConnectionID  string
	Trigger       string
	State         string
	StartedAt     time.Time
	FinishedAt    *time.Time
	RoomsSeen     int
	RoomsAdded    int
	RoomsRemoved  int
	StatusChanges int
	ZoomCalls     int
	Error         string
	// RowsWritten is how many inventory rows the run inserted, updated or
	// deleted (reported by Sync, not stored): a sync that finds nothing
	// new writes none.
	RowsWritten int64
}

// statusFromZoom maps the list call's status to ours. An unknown value is
// treated as offline: the room is not usable as far as we can tell.
func statusFromZoom(s zoom.RoomStatus) string {
	switch s {
	case zoom.RoomAvailable:
		return StatusAvailable
	case zoom.RoomInMeeting:
		return StatusInMeeting
	case zoom.RoomUnderConstruction:
		return StatusUnderConstruction
	}
	return StatusOffline
}

// online says whether a room with status is reachable: everything but
// Offline means the Zoom Rooms app answers.
func online(status string) bool { return status != StatusOffline }
