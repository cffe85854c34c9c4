package rooms

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"zoomsignage/apierror"
	"zoomsignage/zoom"
)

// MaxDisplayMinutes bounds both display-period values: a day.
const MaxDisplayMinutes = 1440

// Settings are the signage settings a caller sends; nil fields keep their
// value (defaults on activation).
type Settings struct {
	Layout        *string
	Muted         *bool
	DisplayPeriod *DisplayPeriod
}

// DisplayPeriod is minutes after a meeting ends before content shows, and
// before the next meeting when it stops.
type DisplayPeriod struct {
	StartAfterMeetingMinutes int
	StopBeforeMeetingMinutes int
}

// Validate checks the settings; field names are the GraphQL input's.
func (s Settings) Validate() error {
	if s.Layout != nil && *s.Layout != LayoutStandard && *s.Layout != LayoutVideoContent {
		return apierror.Invalid("settings.layout", "layout must be STANDARD or VIDEO_CONTENT")
	}
	if p := s.DisplayPeriod; p != nil {
		if p.StartAfterMeetingMinutes < 0 || p.StartAfterMeetingMinutes > MaxDisplayMinutes {
			return apierror.Invalid("settings.displayPeriod.startAfterMeetingMinutes",
				"startAfterMeetingMinutes must be between 0 and %d minutes", MaxDisplayMinutes)
		}
		if p.StopBeforeMeetingMinutes < 0 || p.StopBeforeMeetingMinutes > MaxDisplayMinutes {
			return apierror.Invalid("settings.displayPeriod.stopBeforeMeetingMinutes",
				"stopBeforeMeetingMinutes must be between 0 and %d minutes", MaxDisplayMinutes)
		}
	}
	return nil
}

func (s Settings) empty() bool { return s.Layout == nil && s.Muted == nil && s.DisplayPeriod == nil }

// settingsValues are complete settings, as stored.
type settingsValues struct {
	layout                 string
	muted                  bool
	startAfter, stopBefore int
}

// defaultSettings are an activation's settings when the caller gives none:
// the standard layout, muted (a meeting room is no place for sudden sound),
// content right after a meeting and until the next one.
func defaultSettings() settingsValues { return settingsValues{layout: LayoutStandard, muted: true} }

func valuesOf(a Assignment) settingsValues {
	return settingsValues{layout: a.Layout, muted: a.Muted, startAfter: a.StartAfter, stopBefore: a.StopBefore}
}

// merge applies the caller's settings over v.
func (v settingsValues) merge(s Settings) settingsValues {
	if s.Layout != nil {
		v.layout = *s.Layout
	}
	if s.Muted != nil {
		v.muted = *s.Muted
	}
	if p := s.DisplayPeriod; p != nil {
		v.startAfter, v.stopBefore = p.StartAfterMeetingMinutes, p.StopBeforeMeetingMinutes
	}
	return v
}

// zoomSettings is the PATCH body enabling our signage with these values.
func (v settingsValues) zoomSettings() zoom.SignageSettings {
	layout := zoom.LayoutStandard
	if v.layout == LayoutVideoContent {
		layout = zoom.LayoutVideoContent
	}
	return zoom.SignageSettings{
		EnableDigitalSignage: zoom.Bool(true), Layout: layout, Mute: zoom.Bool(v.muted),
		DisplayPeriod: &zoom.SignageDisplayTimes{StartDisplayingContent: zoom.Int(v.startAfter), StopDisplayingContent: zoom.Int(v.stopBefore)},
	}
}

// details are the audit details of settings: never the screen URL, whose
// token is what keeps a screen private.
func (v settingsValues) details(r Room) map[string]any {
	return map[string]any{"room": r.Name, "zoomRoomId": r.ZoomRoomID, "layout": v.layout, "muted": v.muted,
		"startAfterMeetingMinutes": v.startAfter, "stopBeforeMeetingMinutes": v.stopBefore}
}

// newScreenToken returns the unguessable part of a screen URL: 192 random
// bits.
func newScreenToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("rooms.newScreenToken: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
