package resolvers

import (
	"context"
	"sync"

	"github.com/graph-gophers/dataloader/v7"

	"zoomsignage/rooms"
)

// A ZoomConnection's summary fields (lastSync, lastSuccessfulSyncAt,
// roomCount, activeSignageCount, activatedRoomCount) each have a resolver;
// read one by one they cost two statements per field per connection. They
// go through one per-response loader instead: every connection of a
// response, every field, two statements (rooms.ConnectionSummaries: the
// figures come from rooms' tables).

type connectionLoadersKey struct{}

// lazyConnectionLoaders builds a response's summary loader on first use.
type lazyConnectionLoaders struct {
	once     sync.Once
	summary  *dataloader.Loader[string, rooms.ConnectionSummary]
	tenantID string
	svc      *rooms.Service
}

func (lz *lazyConnectionLoaders) get() *dataloader.Loader[string, rooms.ConnectionSummary] {
	lz.once.Do(func() {
		lz.summary = dataloader.NewBatchedLoader(func(ctx context.Context, ids []string) []*dataloader.Result[rooms.ConnectionSummary] {
			m, err := lz.svc.ConnectionSummaries(ctx, lz.tenantID, ids)
			return byKey(ids, m, err)
		}, dataloader.WithWait[string, rooms.ConnectionSummary](loaderWait))
	})
	return lz.summary
}

// withConnectionLoaders gives a response its (lazy) summary loader.
func withConnectionLoaders(ctx context.Context, tenantID string, svc *rooms.Service) context.Context {
	return context.WithValue(ctx, connectionLoadersKey{}, &lazyConnectionLoaders{tenantID: tenantID, svc: svc})
}

// loadSummary reads a connection's summary through the response's loader,
// or directly where the schema was not wrapped (WithRoomLoaders).
func loadSummary(ctx context.Context, svc *rooms.Service, tenantID, connectionID string) (rooms.ConnectionSummary, error) {
	lz, ok := ctx.Value(connectionLoadersKey{}).(*lazyConnectionLoaders)
	if !ok {
		m, err := svc.ConnectionSummaries(ctx, tenantID, []string{connectionID})
		return m[connectionID], err
	}
	return lz.get().Load(ctx, connectionID)()
}
