package screens

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"zoomsignage/rooms"
)

// Program is what a screen plays, as GET /screens/{token}/program answers
// it (../shared/API.md, Screens): the player and third-party players read
// it. Version changes whenever anything else in it does.
type Program struct {
	Version   string        `json:"version"`
	Room      ProgramRoom   `json:"room"`
	Layout    string        `json:"layout"`
	Muted     bool          `json:"muted"`
	Items     []ProgramItem `json:"items"`
	Broadcast *ProgramCast  `json:"broadcast"`
}

// ProgramRoom names the room a screen belongs to.
type ProgramRoom struct {
	Name string `json:"name"`
}

// ProgramItem is one piece of content, shown for DurationSeconds.
type ProgramItem struct {
	ContentID       string `json:"contentId"`
	Kind            string `json:"kind"`
	URL             string `json:"url"`
	DurationSeconds int    `json:"durationSeconds"`
}

// ProgramCast is a broadcast that replaces the items while it lasts.
type ProgramCast struct {
	ID       string `json:"id"`
	Message  string `json:"message"`
	Severity string `json:"severity"`
}

// program builds the screen's program as it is now.
func (s *Service) program(_ context.Context, sc rooms.Screen) (Program, error) {
	p := Program{Room: ProgramRoom{Name: sc.RoomName}, Layout: sc.Layout, Muted: sc.Muted, Items: []ProgramItem{}}
	if err := p.seal(); err != nil {
		return Program{}, fmt.Errorf("screens.program: %w", err)
	}
	return p, nil
}

// seal sets Version to a hash of everything else, so equal programs have
// equal versions on every replica (the ETag of /program).
func (p *Program) seal() error {
	p.Version = ""
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	p.Version = hex.EncodeToString(sum[:8])
	return nil
}
