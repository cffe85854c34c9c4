package zoom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// EmergencyAlertScope is the granular scope of PATCH /rooms/events
// (manageE911signage); the classic room:write:admin also allows it.
// Connections report it as optional: without it a broadcast still replaces
// the screens' program but Zoom's own alert is not raised.
const EmergencyAlertScope = "zoom_rooms:update:room_controls:admin"

// MaxEmergencyTargets is how many target ids one manageE911signage call
// takes (the document's maxItems).
const MaxEmergencyTargets = 10

// AlertTargetType says what the target ids of an emergency alert are.
type AlertTargetType string

// Target types of manageE911signage.
const (
	AlertTargetAccount  AlertTargetType = "account"
	AlertTargetLocation AlertTargetType = "location"
	AlertTargetRoom     AlertTargetType = "room"
)

// Methods of manageE911signage's request body.
const (
	methodAlertDisplayed = "zoomroom.emergency_alert_displayed"
	methodAlertRemoved   = "zoomroom.emergency_alert_removed"
)

// RaiseEmergencyAlert shows content as Zoom's emergency alert on the
// digital signage of the targets (room ids of GET /rooms, location ids or
// the account id), also on rooms in a meeting, where the gateway's own
// player is not visible. Zoom takes at most MaxEmergencyTargets ids per
// call, so ids are sent in batches; a failed batch does not stop the
// others, because an alert raised in some rooms is better than none. It
// returns the ids of the batches Zoom accepted and the batches' errors
// joined. Showing the same content twice has the same effect, so the
// call is retried like a read.
func (a *AccountClient) RaiseEmergencyAlert(ctx context.Context, typ AlertTargetType, ids []string, content string) ([]string, error) {
	return a.emergency(ctx, "RaiseEmergencyAlert", typ, ids, func(batch []string) any {
		return map[string]any{"method": methodAlertDisplayed,
			"params": map[string]any{"content": content, "target_ids": batch, "target_type": typ}}
	})
}

// RemoveEmergencyAlert removes Zoom's emergency alert from the targets,
// batched like RaiseEmergencyAlert. Zoom's display call answers no event
// id, so the removal is forced (force_remove), which removes whatever
// alert the targets show. Removing twice ends the same way, so it is
// retried like a read.
func (a *AccountClient) RemoveEmergencyAlert(ctx context.Context, typ AlertTargetType, ids []string) ([]string, error) {
	return a.emergency(ctx, "RemoveEmergencyAlert", typ, ids, func(batch []string) any {
		return map[string]any{"method": methodAlertRemoved,
			"params": map[string]any{"target_ids": batch, "target_type": typ, "force_remove": true}}
	})
}

// emergency sends one manageE911signage call per batch of ids.
func (a *AccountClient) emergency(ctx context.Context, op string, typ AlertTargetType, ids []string, body func([]string) any) ([]string, error) {
	if err := a.check(op); err != nil {
		return nil, err
	}
	switch typ {
	case AlertTargetAccount, AlertTargetLocation, AlertTargetRoom:
	default:
		return nil, fmt.Errorf("zoom.%s: unknown target type %q", op, typ)
	}
	var done []string
	var errs []error
	for start := 0; start < len(ids); start += MaxEmergencyTargets {
		batch := ids[start:min(start+MaxEmergencyTargets, len(ids))]
		r := request{op: op, method: http.MethodPatch, path: "/rooms/events", body: body(batch), label: Medium, idempotent: true}
		if _, err := a.send(ctx, r); err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		done = append(done, batch...)
	}
	if err := errors.Join(errs...); err != nil {
		return done, fmt.Errorf("zoom.%s: %w", op, err)
	}
	return done, nil
}
