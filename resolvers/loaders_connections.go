package resolvers

import (
	"context"

	"github.com/graph-gophers/dataloader/v7"

	"zoomsignage/rooms"
)

// A ZoomConnection's summary fields (lastSync, lastSuccessfulSyncAt,
// roomCount, activeSignageCount, activatedRoomCount) each have a resolver;
// read one by one they cost two statements per field per connection. They
// go through the response's summary loader (roomLoaders.summary) instead:
// every connection of a response, every field, two statements
// (rooms.ConnectionSummaries: the figures come from rooms' tables).

func (l *roomLoaders) loadSummaries(ctx context.Context, ids []string) []*dataloader.Result[rooms.ConnectionSummary] {
	m, err := l.rooms.ConnectionSummaries(ctx, l.tenantID, ids)
	return byKey(ids, m, err)
}

// loadSummary reads a connection's summary through the response's loader.
func loadSummary(ctx context.Context, connectionID string) (rooms.ConnectionSummary, error) {
	l, err := loadersFrom(ctx)
	if err != nil {
		return rooms.ConnectionSummary{}, err
	}
	return l.summary.Load(ctx, connectionID)()
}
