package zoomsim

import (
	"context"
	"fmt"
	"slices"
)

// account is the simulator's state of one Zoom account. Guarded by Sim.mu.
type account struct {
	Account
	restriction Restriction
	// rooms in creation order (ascending seq): the list call pages
	// through this slice.
	rooms    []*room
	nextSeq  uint64
	users    []*User
	contents map[string]*content
	// contentOrder keeps library listing stable.
	contentOrder []string
}

// DefaultScopes returns the granular scopes the gateway's apps need; Seed
// gives them to both demo apps.
func DefaultScopes() []string {
	return []string{
		"zoom_rooms:read:list_rooms:admin",
		"zoom_rooms:read:room:admin",
		"zoom_rooms:read:list_devices:admin",
		"zoom_rooms:read:room_settings:admin",
		"zoom_rooms:update:room_settings:admin",
		"zoom_rooms:write:digital_signage_library_contents:admin",
		"zoom_rooms:read:digital_signage_library_contents:admin",
		"zoom_rooms:update:room_control:admin",
		EmergencyAlertScope,
		"zoom_rooms:read:alert:admin",
		"user:read:user:admin",
	}
}

// CreateAccount adds an account. An empty ID is generated; an empty Plan
// means PlanPro.
func (s *Sim) CreateAccount(ctx context.Context, a Account) (Account, error) {
	if err := ctxDone(ctx); err != nil {
		return Account{}, err
	}
	if a.ID == "" {
		a.ID = newID()
	}
	if a.Plan == "" {
		a.Plan = PlanPro
	}
	if _, ok := planLimits()[a.Plan]; !ok {
		return Account{}, fmt.Errorf("%w: unknown plan %q", ErrInvalid, a.Plan)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[a.ID]; ok {
		return Account{}, fmt.Errorf("%w: account %s", ErrExists, a.ID)
	}
	s.accounts[a.ID] = &account{Account: a, contents: map[string]*content{}}
	s.limiter.setPlan(a.ID, a.Plan)
	return a, nil
}

// CreateApp registers an app. Empty ClientID and ClientSecret are
// generated; Kind defaults to AppServer. A Server-to-Server app's
// AccountID must exist.
func (s *Sim) CreateApp(ctx context.Context, app App) (App, error) {
	if err := ctxDone(ctx); err != nil {
		return App{}, err
	}
	if app.Kind == "" {
		app.Kind = AppServer
	}
	if app.Kind != AppServer && app.Kind != AppMarketplace {
		return App{}, fmt.Errorf("%w: unknown app kind %q", ErrInvalid, app.Kind)
	}
	if app.ClientID == "" {
		app.ClientID = newID()
	}
	if app.ClientSecret == "" {
		app.ClientSecret = newSecret()
	}
	app.Scopes = slices.Clone(app.Scopes)
	s.mu.Lock()
	defer s.mu.Unlock()
	if app.Kind == AppServer || app.AccountID != "" {
		if _, ok := s.accounts[app.AccountID]; !ok {
			return App{}, fmt.Errorf("%w: account %q", ErrNotFound, app.AccountID)
		}
	}
	if _, ok := s.apps[app.ClientID]; ok {
		return App{}, fmt.Errorf("%w: app %s", ErrExists, app.ClientID)
	}
	stored := app
	s.apps[app.ClientID] = &stored
	return app, nil
}

// CreateUser adds a user to an account. An empty ID is generated and an
// empty Email derived from it.
func (s *Sim) CreateUser(ctx context.Context, u User) (User, error) {
	if err := ctxDone(ctx); err != nil {
		return User{}, err
	}
	if u.ID == "" {
		u.ID = newID()
	}
	if u.Email == "" {
		u.Email = "user-" + u.ID + "@example.com"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[u.AccountID]
	if !ok {
		return User{}, fmt.Errorf("%w: account %q", ErrNotFound, u.AccountID)
	}
	if _, ok := s.users[u.ID]; ok {
		return User{}, fmt.Errorf("%w: user %s", ErrExists, u.ID)
	}
	stored := u
	s.users[u.ID] = &stored
	a.users = append(a.users, &stored)
	return u, nil
}

// SetRestriction makes the account's Zoom Rooms calls fail with 400 code
// 200 ("no Zoom Rooms subscription" or "access restricted"), or clears it.
func (s *Sim) SetRestriction(ctx context.Context, accountID string, r Restriction) error {
	if err := ctxDone(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[accountID]
	if !ok {
		return fmt.Errorf("%w: account %q", ErrNotFound, accountID)
	}
	a.restriction = r
	return nil
}

// SeedOptions shape the world Seed creates.
type SeedOptions struct {
	// Plan of the account; PlanPro when empty.
	Plan Plan
	// Rooms is how many rooms to create (statuses cycle through
	// Available, InMeeting, Offline; signage enabled on every room).
	Rooms int
	// Scopes of both apps; DefaultScopes() when nil.
	Scopes []string
	// AccountID, when set, fixes the account id.
	AccountID string
}

// Seeded is what Seed created: everything a test needs to talk to the
// simulator as the gateway would.
type Seeded struct {
	AccountID string `json:"account_id"`
	// Admin may install account-level Marketplace apps; Member may not.
	Admin  User `json:"admin"`
	Member User `json:"member"`
	// Server is a Server-to-Server app of the account; Marketplace is an
	// account-level Marketplace app.
	Server      App      `json:"server"`
	Marketplace App      `json:"marketplace"`
	RoomIDs     []string `json:"room_ids"`
}

// Seed creates an account with an admin and a non-admin user, a
// Server-to-Server app, a Marketplace app and opts.Rooms rooms.
func (s *Sim) Seed(ctx context.Context, opts SeedOptions) (Seeded, error) {
	scopes := opts.Scopes
	if scopes == nil {
		scopes = DefaultScopes()
	}
	acc, err := s.CreateAccount(ctx, Account{ID: opts.AccountID, Plan: opts.Plan, Name: "Demo account"})
	if err != nil {
		return Seeded{}, fmt.Errorf("seed account: %w", err)
	}
	out := Seeded{AccountID: acc.ID}
	if out.Admin, err = s.CreateUser(ctx, User{AccountID: acc.ID, FirstName: "Ada", LastName: "Admin", Admin: true}); err != nil {
		return Seeded{}, fmt.Errorf("seed admin: %w", err)
	}
	if out.Member, err = s.CreateUser(ctx, User{AccountID: acc.ID, FirstName: "Max", LastName: "Member"}); err != nil {
		return Seeded{}, fmt.Errorf("seed member: %w", err)
	}
	if out.Server, err = s.CreateApp(ctx, App{Kind: AppServer, AccountID: acc.ID, Scopes: scopes}); err != nil {
		return Seeded{}, fmt.Errorf("seed server app: %w", err)
	}
	if out.Marketplace, err = s.CreateApp(ctx, App{Kind: AppMarketplace, Scopes: scopes}); err != nil {
		return Seeded{}, fmt.Errorf("seed marketplace app: %w", err)
	}
	rooms, err := s.GenerateRooms(ctx, acc.ID, opts.Rooms)
	if err != nil {
		return Seeded{}, fmt.Errorf("seed rooms: %w", err)
	}
	for _, r := range rooms {
		out.RoomIDs = append(out.RoomIDs, r.ID)
	}
	return out, nil
}

// lookupAccount returns the account; caller holds s.mu.
func (s *Sim) lookupAccount(id string) (*account, error) {
	a, ok := s.accounts[id]
	if !ok {
		return nil, fmt.Errorf("%w: account %q", ErrNotFound, id)
	}
	return a, nil
}
