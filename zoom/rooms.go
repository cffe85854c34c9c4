package zoom

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// RoomsPageSize is the page size of ListRooms: Zoom's maximum, so a full
// inventory pass costs ceil(N/300) calls.
const RoomsPageSize = 300

// maxRoomPages stops a paging loop that a misbehaving server keeps feeding
// (300 × 10,000 rooms is far beyond any account).
const maxRoomPages = 10_000

// RoomStatus is a room's status as the list call reports it.
type RoomStatus string

// Room statuses (enum of GET /rooms).
const (
	RoomAvailable         RoomStatus = "Available"
	RoomInMeeting         RoomStatus = "InMeeting"
	RoomOffline           RoomStatus = "Offline"
	RoomUnderConstruction RoomStatus = "UnderConstruction"
)

// Room is one entry of GET /rooms. ID is the id every other /rooms/{id}
// call takes; RoomID is the dashboard id, a different value.
type Room struct {
	ID             string     `json:"id"`
	RoomID         string     `json:"room_id"`
	Name           string     `json:"name"`
	ActivationCode string     `json:"activation_code"`
	Status         RoomStatus `json:"status"`
	LocationID     string     `json:"location_id"`
	TagIDs         []string   `json:"tag_ids"`
}

// RoomFilter narrows GET /rooms; zero fields are not sent.
type RoomFilter struct {
	Status     RoomStatus
	Type       string // Kiosk, ZoomRoom, StandaloneWhiteboard, SchedulingDisplayOnly, DigitalSignageOnly, PersonalZoomRoom
	LocationID string
	QueryName  string
	// UnassignedOnly lists only rooms not yet assigned to anyone.
	UnassignedOnly bool
}

// RoomsPage is one page of GET /rooms.
type RoomsPage struct {
	Rooms         []Room `json:"rooms"`
	NextPageToken string `json:"next_page_token"`
	PageSize      int    `json:"page_size"`
}

func listRoomsRequest(f RoomFilter, pageToken string) request {
	q := url.Values{}
	q.Set("page_size", strconv.Itoa(RoomsPageSize))
	if pageToken != "" {
		q.Set("next_page_token", pageToken)
	}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	if f.LocationID != "" {
		q.Set("location_id", f.LocationID)
	}
	if f.QueryName != "" {
		q.Set("query_name", f.QueryName)
	}
	if f.UnassignedOnly {
		q.Set("unassigned_rooms", "true")
	}
	return request{op: "ListRooms", method: http.MethodGet, path: "/rooms", query: q, label: Medium, idempotent: true}
}

// ListRoomsPage returns one page of rooms (300 per page); pass the previous
// page's NextPageToken to continue. Zoom's page tokens live 15 minutes.
func (a *AccountClient) ListRoomsPage(ctx context.Context, f RoomFilter, pageToken string) (*RoomsPage, error) {
	if err := a.check("ListRoomsPage"); err != nil {
		return nil, err
	}
	body, err := a.cachedGet(ctx, listRoomsRequest(f, pageToken), cacheSpec{resource: "rooms", ttl: a.c.ttls.RoomsList})
	if err != nil {
		return nil, fmt.Errorf("zoom.ListRoomsPage: %w", err)
	}
	var p RoomsPage
	if err := decode(body, &p); err != nil {
		return nil, fmt.Errorf("zoom.ListRoomsPage: %w", err)
	}
	return &p, nil
}

// ListRooms returns every room of the account, following page tokens
// sequentially (each page needs the previous page's token). A token that
// expires mid-way is replaced by the retry logic and paging continues with
// the same page token.
func (a *AccountClient) ListRooms(ctx context.Context, f RoomFilter) ([]Room, error) {
	var rooms []Room
	token := ""
	for range maxRoomPages {
		p, err := a.ListRoomsPage(ctx, f, token)
		if err != nil {
			return nil, fmt.Errorf("zoom.ListRooms: after %d rooms: %w", len(rooms), err)
		}
		rooms = append(rooms, p.Rooms...)
		if p.NextPageToken == "" {
			return rooms, nil
		}
		token = p.NextPageToken
	}
	return nil, fmt.Errorf("zoom.ListRooms: %w: more than %d pages", ErrMalformedResponse, maxRoomPages)
}

// RoomProfile is GET /rooms/{roomId}. Setup is kept raw: the gateway shows
// none of it but callers may want to inspect it.
type RoomProfile struct {
	Basic  RoomBasic       `json:"basic"`
	Device RoomDeviceInfo  `json:"device"`
	Setup  json.RawMessage `json:"setup,omitempty"`
}

// RoomBasic is the basic part of a room profile (the fields the gateway uses).
type RoomBasic struct {
	Name               string   `json:"name"`
	DisplayName        string   `json:"display_name"`
	ActivationCode     string   `json:"activation_code"`
	ZoomRoomType       string   `json:"zoom_room_type"`
	LocationID         string   `json:"location_id"`
	TagIDs             []string `json:"tag_ids"`
	Capacity           float64  `json:"capacity"`
	SupportEmail       string   `json:"support_email"`
	SupportPhone       string   `json:"support_phone"`
	CalendarResourceID string   `json:"calendar_resource_id"`
	HideRoomInContacts bool     `json:"hide_room_in_contacts"`
	UserID             string   `json:"user_id"`
}

// RoomDeviceInfo is the device part of a room profile.
type RoomDeviceInfo struct {
	DeviceProfileID string `json:"device_profile_id"`
}

func getRoomRequest(roomID string) request {
	return request{op: "GetRoom", method: http.MethodGet, path: "/rooms/" + url.PathEscape(roomID), label: Medium, idempotent: true}
}

// GetRoom returns a room's profile. A room that no longer exists fails with
// an error matching ErrNotFound (code 1012).
func (a *AccountClient) GetRoom(ctx context.Context, roomID string) (*RoomProfile, error) {
	if err := a.check("GetRoom"); err != nil {
		return nil, err
	}
	body, err := a.cachedGet(ctx, getRoomRequest(roomID), cacheSpec{resource: "room", roomID: roomID, ttl: a.c.ttls.Room})
	if err != nil {
		return nil, fmt.Errorf("zoom.GetRoom: %w", err)
	}
	var p RoomProfile
	if err := decode(body, &p); err != nil {
		return nil, fmt.Errorf("zoom.GetRoom: %w", err)
	}
	return &p, nil
}

// Device is one device of a room (GET /rooms/{roomId}/devices).
type Device struct {
	ID                 string   `json:"id"`
	RoomName           string   `json:"room_name"`
	DeviceType         string   `json:"device_type"` // Zoom Rooms Computer, Controller, Scheduling Display, …
	AppVersion         string   `json:"app_version"`
	DeviceSystem       string   `json:"device_system"`
	Status             string   `json:"status"` // Online, Offline
	DeviceModel        string   `json:"device_model"`
	DeviceManufacturer string   `json:"device_manufacturer"`
	DeviceFirmware     string   `json:"device_firmware"`
	DeviceHostname     string   `json:"device_hostname"`
	IPAddress          string   `json:"ip_address"`
	SerialNumber       string   `json:"serial_number"`
	MACAddresses       []string `json:"device_mac_addresses"`
}

func devicesRequest(roomID string) request {
	return request{op: "ListDevices", method: http.MethodGet, path: "/rooms/" + url.PathEscape(roomID) + "/devices", label: Medium, idempotent: true}
}

// ListDevices returns a room's devices (Zoom does not page this call).
func (a *AccountClient) ListDevices(ctx context.Context, roomID string) ([]Device, error) {
	if err := a.check("ListDevices"); err != nil {
		return nil, err
	}
	body, err := a.cachedGet(ctx, devicesRequest(roomID), cacheSpec{resource: "devices", roomID: roomID, ttl: a.c.ttls.Devices})
	if err != nil {
		return nil, fmt.Errorf("zoom.ListDevices: %w", err)
	}
	var out struct {
		Devices []Device `json:"devices"`
	}
	if err := decode(body, &out); err != nil {
		return nil, fmt.Errorf("zoom.ListDevices: %w", err)
	}
	return out.Devices, nil
}

// RestartRoom restarts the Zoom Rooms app on the room (PATCH
// /rooms/{id}/events, method zoomroom.restart). It is not idempotent, so it
// is never retried after a 429, 5xx or connection error: the caller decides.
// An offline room fails with an error matching ErrRoomOffline.
func (a *AccountClient) RestartRoom(ctx context.Context, roomID string) error {
	if err := a.check("RestartRoom"); err != nil {
		return err
	}
	r := request{op: "RestartRoom", method: http.MethodPatch, path: "/rooms/" + url.PathEscape(roomID) + "/events",
		body: map[string]string{"method": "zoomroom.restart"}, label: Medium}
	_, err := a.send(ctx, r)
	a.dropRoom(ctx, roomID)
	if err != nil {
		return fmt.Errorf("zoom.RestartRoom: %w", err)
	}
	return nil
}

// dropRoom invalidates the room's cache after a write, successful or not (a
// failed write may still have changed the room). Failure is logged only.
func (a *AccountClient) dropRoom(ctx context.Context, roomID string) {
	if err := a.InvalidateRoom(context.WithoutCancel(ctx), roomID); err != nil {
		a.c.log.WarnContext(ctx, "zoom: cache invalidation failed", "error", err)
	}
}
