package zoomsim

import (
	"crypto/rand"
	"encoding/base64"
	"time"
)

// Plan is a Zoom account plan; it selects the account's default rate
// limits.
type Plan string

// Plans with rate-limit presets (see zoom-api.md).
const (
	PlanFree     Plan = "free"
	PlanPro      Plan = "pro"
	PlanBusiness Plan = "business"
)

// AppKind says how an app gets tokens.
type AppKind string

// App kinds.
const (
	// AppMarketplace is a user-managed or account-level OAuth app
	// installed through /oauth/authorize (authorization-code grant).
	AppMarketplace AppKind = "marketplace"
	// AppServer is a Server-to-Server OAuth app (account_credentials
	// grant) owned by one account.
	AppServer AppKind = "server"
)

// RoomStatus is a room's status as the list call reports it.
type RoomStatus string

// Room statuses (enum of GET /rooms).
const (
	StatusAvailable         RoomStatus = "Available"
	StatusInMeeting         RoomStatus = "InMeeting"
	StatusOffline           RoomStatus = "Offline"
	StatusUnderConstruction RoomStatus = "UnderConstruction"
)

// Restriction makes an account's Zoom Rooms calls fail with code 200.
type Restriction string

// Restrictions.
const (
	RestrictionNone           Restriction = ""
	RestrictionNoSubscription Restriction = "no_subscription"
	RestrictionAccess         Restriction = "access_restricted"
)

// Account describes a simulated Zoom account.
type Account struct {
	ID   string `json:"account_id"`
	Name string `json:"name,omitempty"`
	Plan Plan   `json:"plan"`
}

// App describes an OAuth app registered with the simulator.
type App struct {
	ClientID     string  `json:"client_id"`
	ClientSecret string  `json:"client_secret"`
	Kind         AppKind `json:"kind"`
	// AccountID owns a Server-to-Server app (and is the developer account
	// of a Marketplace app).
	AccountID string   `json:"account_id"`
	Scopes    []string `json:"scopes"`
	// RedirectURIs allowed for the authorization-code flow; empty allows
	// any.
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// UserLevel marks a Marketplace app any user may install. By default
	// Marketplace apps are account-level: only an admin may install them.
	UserLevel bool `json:"user_level,omitempty"`
	// SingleToken makes a new Server-to-Server token invalidate the app's
	// previous one (Zoom's historical behaviour).
	SingleToken bool `json:"single_token,omitempty"`
	// WebhookURL and WebhookSecret receive the app's event notifications;
	// empty values fall back to Options.WebhookURL / WebhookSecret.
	WebhookURL    string `json:"webhook_url,omitempty"`
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

// User is a user of an account.
type User struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Admin     bool   `json:"admin"`
}

// Device is one device of a room, as GET /rooms/{roomId}/devices reports it.
type Device struct {
	ID                 string   `json:"id"`
	RoomName           string   `json:"room_name"`
	DeviceType         string   `json:"device_type"`
	AppVersion         string   `json:"app_version"`
	DeviceSystem       string   `json:"device_system"`
	Status             string   `json:"status"`
	DeviceModel        string   `json:"device_model,omitempty"`
	DeviceManufacturer string   `json:"device_manufacturer,omitempty"`
	DeviceFirmware     string   `json:"device_firmware,omitempty"`
	DeviceHostname     string   `json:"device_hostname,omitempty"`
	IPAddress          string   `json:"ip_address,omitempty"`
	SerialNumber       string   `json:"serial_number,omitempty"`
	MACAddresses       []string `json:"device_mac_addresses,omitempty"`
}

// Room describes a room; it is what the control API creates and reads.
type Room struct {
	// ID is the id used in /v2/rooms/{roomId}. RoomID is the separate
	// dashboard id the list call also returns; the simulator makes them
	// differ so that a client using the wrong one fails.
	ID             string     `json:"id"`
	RoomID         string     `json:"room_id"`
	AccountID      string     `json:"account_id"`
	Name           string     `json:"name"`
	Status         RoomStatus `json:"status"`
	Type           string     `json:"type"`
	LocationID     string     `json:"location_id,omitempty"`
	TagIDs         []string   `json:"tag_ids,omitempty"`
	ActivationCode string     `json:"activation_code"`
	// Assigned rooms are excluded by unassigned_rooms=true.
	Assigned bool `json:"assigned,omitempty"`
	// SignageEnabled says whether the account admin enabled Digital
	// Signage for the room; while false, PATCH settings?setting_type=signage
	// fails with code 300.
	SignageEnabled bool     `json:"signage_enabled"`
	Devices        []Device `json:"devices"`
	// Restarts counts accepted zoomroom.restart events.
	Restarts int `json:"restarts"`
}

// Alert is a room alert, raised or cleared through the control API and
// delivered as a zoomroom.alert webhook.
type Alert struct {
	Issue     string `json:"issue"`
	AlertType int    `json:"alert_type"` // 0..10
	Component int    `json:"component"`  // 0..6
	// Time defaults to now.
	Time time.Time `json:"time,omitzero"`
}

// newID returns a random 22-character id in Zoom's style.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newSecret returns a random 32-character secret or token.
func newSecret() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
