package zoomsim

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// room is a room's state. Guarded by Sim.mu.
type room struct {
	Room
	seq     uint64
	signage signageSettings
	// emergencyAlert is the E911 text PATCH /rooms/events shows on the
	// room's signage; nil when none.
	emergencyAlert *string
	// listJSON is the room's entry in GET /rooms, encoded once per
	// change so that listing 10,000 rooms costs copies, not encodes.
	listJSON []byte
}

// RoomTypes are the room type values of Zoom's documents.
const (
	TypeZoomRoom           = "ZoomRoom"
	TypeKiosk              = "Kiosk"
	TypeStandaloneWB       = "StandaloneWhiteboard"
	TypeSchedulingDisplay  = "SchedulingDisplayOnly"
	TypeDigitalSignageOnly = "DigitalSignageOnly"
	TypePersonalZoomRoom   = "PersonalZoomRoom"
)

// Device types and statuses of Zoom's documents.
const (
	DeviceZoomRoomsComputer = "Zoom Rooms Computer"
	DeviceController        = "Controller"
	DeviceSchedulingDisplay = "Scheduling Display"
	DeviceOnline            = "Online"
	DeviceOffline           = "Offline"
)

func validStatuses() []RoomStatus {
	return []RoomStatus{StatusAvailable, StatusInMeeting, StatusOffline, StatusUnderConstruction}
}

func validTypes() []string {
	return []string{TypeKiosk, TypeZoomRoom, TypeStandaloneWB, TypeSchedulingDisplay, TypeDigitalSignageOnly, TypePersonalZoomRoom}
}

// encode refreshes the cached list entry.
func (r *room) encode() {
	entry := struct {
		ID             string     `json:"id"`
		RoomID         string     `json:"room_id"`
		Name           string     `json:"name"`
		ActivationCode string     `json:"activation_code"`
		Status         RoomStatus `json:"status"`
		LocationID     string     `json:"location_id,omitempty"`
		TagIDs         []string   `json:"tag_ids"`
	}{r.ID, r.RoomID, r.Name, r.ActivationCode, r.Status, r.LocationID, r.TagIDs}
	if entry.TagIDs == nil {
		entry.TagIDs = []string{}
	}
	r.listJSON, _ = json.Marshal(entry)
}

// snapshot returns a copy safe to hand out.
func (r *room) snapshot() Room {
	c := r.Room
	c.TagIDs = slices.Clone(r.TagIDs)
	c.Devices = slices.Clone(r.Devices)
	return c
}

// AddRooms adds rooms to an account. Empty IDs, names, statuses (Available),
// types (ZoomRoom), activation codes and devices are filled in; the given
// SignageEnabled is kept as is. It returns the rooms as stored.
func (s *Sim) AddRooms(ctx context.Context, accountID string, rooms []Room) ([]Room, error) {
	if err := ctxDone(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookupAccount(accountID)
	if err != nil {
		return nil, err
	}
	out := make([]Room, 0, len(rooms))
	for i := range rooms {
		r, err := s.newRoom(a, rooms[i])
		if err != nil {
			return out, err
		}
		out = append(out, r.snapshot())
	}
	return out, nil
}

// GenerateRooms adds n rooms named "Room 00001"... with statuses cycling
// through Available, InMeeting and Offline, and signage enabled.
func (s *Sim) GenerateRooms(ctx context.Context, accountID string, n int) ([]Room, error) {
	statuses := []RoomStatus{StatusAvailable, StatusInMeeting, StatusOffline}
	rooms := make([]Room, n)
	for i := range rooms {
		rooms[i] = Room{
			Name:           fmt.Sprintf("Room %05d", i+1),
			Status:         statuses[i%len(statuses)],
			SignageEnabled: true,
			LocationID:     "loc" + strconv.Itoa(i%4),
		}
	}
	return s.AddRooms(ctx, accountID, rooms)
}

// newRoom validates, completes and stores one room; caller holds s.mu.
func (s *Sim) newRoom(a *account, in Room) (*room, error) {
	if in.ID == "" {
		in.ID = newID()
	}
	if _, ok := s.rooms[in.ID]; ok {
		return nil, fmt.Errorf("%w: room %s", ErrExists, in.ID)
	}
	if in.RoomID == "" {
		in.RoomID = "zr" + newID()
	}
	if in.Status == "" {
		in.Status = StatusAvailable
	}
	if !slices.Contains(validStatuses(), in.Status) {
		return nil, fmt.Errorf("%w: room status %q", ErrInvalid, in.Status)
	}
	if in.Type == "" {
		in.Type = TypeZoomRoom
	}
	if !slices.Contains(validTypes(), in.Type) {
		return nil, fmt.Errorf("%w: room type %q", ErrInvalid, in.Type)
	}
	if in.Name == "" {
		in.Name = "Room " + in.ID[:6]
	}
	if in.ActivationCode == "" {
		in.ActivationCode = activationCode(a.nextSeq)
	}
	in.AccountID = a.ID
	in.TagIDs = slices.Clone(in.TagIDs)
	if in.Devices == nil {
		in.Devices = defaultDevices(in)
	}
	if err := validateDevices(in.Devices); err != nil {
		return nil, err
	}
	in.Devices = slices.Clone(in.Devices)
	a.nextSeq++
	r := &room{Room: in, seq: a.nextSeq, signage: defaultSignage()}
	r.encode()
	a.rooms = append(a.rooms, r)
	s.rooms[r.ID] = r
	return r, nil
}

func activationCode(n uint64) string {
	return fmt.Sprintf("%04d-%04d-%04d-%04d", 1000+n%9000, (n*7)%10000, (n*13)%10000, (n*31)%10000)
}

// defaultDevices gives a room a computer and a controller whose status
// follows the room's.
func defaultDevices(r Room) []Device {
	status := DeviceOnline
	if r.Status == StatusOffline {
		status = DeviceOffline
	}
	return []Device{
		{ID: newID(), RoomName: r.Name, DeviceType: DeviceZoomRoomsComputer, AppVersion: "6.2.0 (5310)", DeviceSystem: "Win 11", Status: status,
			DeviceModel: "NUC13", DeviceManufacturer: "ASUS", DeviceFirmware: "1.0.3", DeviceHostname: "zr-" + r.ID[:6], IPAddress: "10.0.0.10", SerialNumber: "SN" + r.ID[:8], MACAddresses: []string{"00:1a:2b:3c:4d:5e"}},
		{ID: newID(), RoomName: r.Name, DeviceType: DeviceController, AppVersion: "6.2.0 (5310)", DeviceSystem: "iPadOS 17", Status: status,
			DeviceModel: "iPad", DeviceManufacturer: "Apple"},
	}
}

func validDeviceTypes() []string {
	return []string{DeviceZoomRoomsComputer, DeviceController, DeviceSchedulingDisplay, "Zoom Rooms Control System", "Companion Whiteboard"}
}

// validateDevices keeps the simulator from serving enums the documents
// forbid.
func validateDevices(ds []Device) error {
	for _, d := range ds {
		if !slices.Contains(validDeviceTypes(), d.DeviceType) {
			return fmt.Errorf("%w: device_type %q", ErrInvalid, d.DeviceType)
		}
		if d.Status != DeviceOnline && d.Status != DeviceOffline {
			return fmt.Errorf("%w: device status %q", ErrInvalid, d.Status)
		}
	}
	return nil
}

// RoomInfo returns a room's current state.
func (s *Sim) RoomInfo(ctx context.Context, roomID string) (Room, error) {
	if err := ctxDone(ctx); err != nil {
		return Room{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.rooms[roomID]
	if !ok {
		return Room{}, fmt.Errorf("%w: room %q", ErrNotFound, roomID)
	}
	return r.snapshot(), nil
}

// RoomUpdate lists the room fields a control call changes; nil fields are
// left alone.
type RoomUpdate struct {
	Name           *string     `json:"name,omitempty"`
	Status         *RoomStatus `json:"status,omitempty"`
	SignageEnabled *bool       `json:"signage_enabled,omitempty"`
	Devices        *[]Device   `json:"devices,omitempty"`
	LocationID     *string     `json:"location_id,omitempty"`
	Assigned       *bool       `json:"assigned,omitempty"`
}

// UpdateRoom changes a room (rename, status, signage enablement, devices).
func (s *Sim) UpdateRoom(ctx context.Context, roomID string, u RoomUpdate) (Room, error) {
	if err := ctxDone(ctx); err != nil {
		return Room{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[roomID]
	if !ok {
		return Room{}, fmt.Errorf("%w: room %q", ErrNotFound, roomID)
	}
	if u.Status != nil && !slices.Contains(validStatuses(), *u.Status) {
		return Room{}, fmt.Errorf("%w: room status %q", ErrInvalid, *u.Status)
	}
	if u.Devices != nil {
		if err := validateDevices(*u.Devices); err != nil {
			return Room{}, err
		}
		r.Devices = slices.Clone(*u.Devices)
	}
	if u.Name != nil {
		r.Name = *u.Name
	}
	if u.Status != nil {
		r.Status = *u.Status
	}
	if u.SignageEnabled != nil {
		r.SignageEnabled = *u.SignageEnabled
	}
	if u.LocationID != nil {
		r.LocationID = *u.LocationID
	}
	if u.Assigned != nil {
		r.Assigned = *u.Assigned
	}
	r.encode()
	return r.snapshot(), nil
}

// SetRoomStatus is UpdateRoom for the status alone.
func (s *Sim) SetRoomStatus(ctx context.Context, roomID string, st RoomStatus) error {
	_, err := s.UpdateRoom(ctx, roomID, RoomUpdate{Status: &st})
	return err
}

// SetSignageEnabled turns the account admin's Digital Signage enablement of
// a room on or off.
func (s *Sim) SetSignageEnabled(ctx context.Context, roomID string, on bool) error {
	_, err := s.UpdateRoom(ctx, roomID, RoomUpdate{SignageEnabled: &on})
	return err
}

// RenameRoom is UpdateRoom for the name alone.
func (s *Sim) RenameRoom(ctx context.Context, roomID, name string) error {
	_, err := s.UpdateRoom(ctx, roomID, RoomUpdate{Name: &name})
	return err
}

// SetRoomDevices replaces a room's devices.
func (s *Sim) SetRoomDevices(ctx context.Context, roomID string, devices []Device) error {
	_, err := s.UpdateRoom(ctx, roomID, RoomUpdate{Devices: &devices})
	return err
}

// DeleteRoom removes a room; later calls for it answer 404 code 1012.
func (s *Sim) DeleteRoom(ctx context.Context, roomID string) error {
	if err := ctxDone(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[roomID]
	if !ok {
		return fmt.Errorf("%w: room %q", ErrNotFound, roomID)
	}
	delete(s.rooms, roomID)
	a := s.accounts[r.AccountID]
	i := sort.Search(len(a.rooms), func(i int) bool { return a.rooms[i].seq >= r.seq })
	a.rooms = slices.Delete(a.rooms, i, i+1)
	return nil
}

// Rooms lists an account's rooms in list order.
func (s *Sim) Rooms(ctx context.Context, accountID string) ([]Room, error) {
	if err := ctxDone(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, err := s.lookupAccount(accountID)
	if err != nil {
		return nil, err
	}
	out := make([]Room, len(a.rooms))
	for i, r := range a.rooms {
		out[i] = r.snapshot()
	}
	return out, nil
}
