package zoom

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Signage layouts.
const (
	LayoutStandard     = "standard"
	LayoutVideoContent = "video_content"
)

// Content-list and content actions of a signage PATCH.
const (
	ActionAdd    = "add"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// SignageSettings is the digital_signage object of a room's settings (GET
// response and PATCH body). Pointer and omitempty fields let a PATCH send
// only what it changes.
type SignageSettings struct {
	EnableDigitalSignage *bool                `json:"enable_digital_signage,omitempty"`
	Layout               string               `json:"layout,omitempty"` // LayoutStandard or LayoutVideoContent
	Mute                 *bool                `json:"mute,omitempty"`
	Banner               *SignageBanner       `json:"banner,omitempty"`
	DisplayPeriod        *SignageDisplayTimes `json:"display_period,omitempty"`
	// PlayList holds up to 2 content lists.
	PlayList []SignageContentList `json:"play_list,omitempty"`
}

// SignageBanner says what the banner shows over the content.
type SignageBanner struct {
	BannerRoomName   *bool `json:"banner_room_name,omitempty"`
	BannerSharingKey *bool `json:"banner_sharing_key,omitempty"`
	BannerTime       *bool `json:"banner_time,omitempty"`
}

// SignageDisplayTimes are minutes after a meeting ends before content shows,
// and before the next meeting when it stops.
type SignageDisplayTimes struct {
	StartDisplayingContent *int `json:"start_displaying_content,omitempty"`
	StopDisplayingContent  *int `json:"stop_displaying_content,omitempty"`
}

// SignageContentList is one content list of the play list.
type SignageContentList struct {
	Action    string `json:"action,omitempty"` // PATCH only: add, update, delete
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	StartTime string `json:"start_time,omitempty"`
	EndTime   string `json:"end_time,omitempty"`
	// Contents holds up to 3 items.
	Contents []SignageContent `json:"contents,omitempty"`
}

// SignageContent references a library item from a content list.
type SignageContent struct {
	Action    string `json:"action,omitempty"` // PATCH only
	ID        string `json:"id,omitempty"`
	ContentID string `json:"content_id,omitempty"`
	Name      string `json:"name,omitempty"`
	Duration  int    `json:"duration,omitempty"` // seconds; Zoom's default is 5
	Order     int    `json:"order,omitempty"`
}

func getSettingsRequest(roomID string) request {
	return request{op: "GetSignageSettings", method: http.MethodGet, path: "/rooms/" + url.PathEscape(roomID) + "/settings",
		query: url.Values{"setting_type": {"signage"}}, label: Medium, idempotent: true}
}

// GetSignageSettings returns the room's digital_signage settings.
func (a *AccountClient) GetSignageSettings(ctx context.Context, roomID string) (*SignageSettings, error) {
	if err := a.check("GetSignageSettings"); err != nil {
		return nil, err
	}
	body, err := a.cachedGet(ctx, getSettingsRequest(roomID), cacheSpec{resource: "settings", roomID: roomID, ttl: a.c.ttls.Settings})
	if err != nil {
		return nil, fmt.Errorf("zoom.GetSignageSettings: %w", err)
	}
	var out struct {
		DigitalSignage SignageSettings `json:"digital_signage"`
	}
	if err := decode(body, &out); err != nil {
		return nil, fmt.Errorf("zoom.GetSignageSettings: %w", err)
	}
	return &out.DigitalSignage, nil
}

// UpdateSignageSettings patches the room's digital_signage settings. Setting
// the same values twice has the same effect, so the call is retried like a
// read; content-list "add" actions are the exception, which is why callers
// that add lists should pass stable ids. The room's cached responses are
// dropped afterwards. When the admin has not enabled signage for the room
// the error matches ErrSignageDisabled.
func (a *AccountClient) UpdateSignageSettings(ctx context.Context, roomID string, s SignageSettings) error {
	if err := a.check("UpdateSignageSettings"); err != nil {
		return err
	}
	r := request{op: "UpdateSignageSettings", method: http.MethodPatch, path: "/rooms/" + url.PathEscape(roomID) + "/settings",
		query: url.Values{"setting_type": {"signage"}},
		body:  map[string]SignageSettings{"digital_signage": s}, label: Medium, idempotent: !hasAddAction(s)}
	_, err := a.send(ctx, r)
	a.dropRoom(ctx, roomID)
	if err != nil {
		return fmt.Errorf("zoom.UpdateSignageSettings: %w", err)
	}
	return nil
}

// hasAddAction reports whether a PATCH creates a content list, which Zoom
// would create twice if the call were repeated.
func hasAddAction(s SignageSettings) bool {
	for _, l := range s.PlayList {
		if l.Action == ActionAdd {
			return true
		}
	}
	return false
}

// SignageURL is a URL item to add to the account's signage library.
type SignageURL struct {
	Name     string `json:"content_name"`
	URL      string `json:"content_url"`
	FolderID string `json:"folder_id,omitempty"`
}

// AddSignageURL adds a URL item to the account's digital signage library and
// returns its content id. Not idempotent: never retried after a 429, 5xx or
// connection error, since Zoom would create a second item.
func (a *AccountClient) AddSignageURL(ctx context.Context, item SignageURL) (string, error) {
	if err := a.check("AddSignageURL"); err != nil {
		return "", err
	}
	r := request{op: "AddSignageURL", method: http.MethodPost, path: "/rooms/content/digital_signage/contents",
		body: item, label: Light}
	body, err := a.send(ctx, r)
	if err != nil {
		return "", fmt.Errorf("zoom.AddSignageURL: %w", err)
	}
	var out struct {
		ContentID string `json:"content_id"`
	}
	if err := decode(body, &out); err != nil {
		return "", fmt.Errorf("zoom.AddSignageURL: %w", err)
	}
	if out.ContentID == "" {
		return "", fmt.Errorf("zoom.AddSignageURL: %w: no content_id", ErrMalformedResponse)
	}
	return out.ContentID, nil
}

// DeleteSignageContent removes a library item and, with
// remove_from_library_only=false, every content list that references it.
// Deleting twice ends the same way, so it is retried like a read; a 404 on
// the item matches ErrNotFound and callers cleaning up treat it as done.
func (a *AccountClient) DeleteSignageContent(ctx context.Context, contentID string) error {
	if err := a.check("DeleteSignageContent"); err != nil {
		return err
	}
	r := request{op: "DeleteSignageContent", method: http.MethodDelete,
		path:  "/rooms/content/digital_signage/contents/" + url.PathEscape(contentID),
		query: url.Values{"remove_from_library_only": {"false"}}, label: Light, idempotent: true}
	if _, err := a.send(ctx, r); err != nil {
		return fmt.Errorf("zoom.DeleteSignageContent: %w", err)
	}
	return nil
}

// Bool returns a pointer to b, for SignageSettings fields.
func Bool(b bool) *bool { return &b }

// Int returns a pointer to n, for SignageSettings fields.
func Int(n int) *int { return &n }
