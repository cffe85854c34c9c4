package resolvers

import (
	"context"
	"sync"

	"github.com/graph-gophers/dataloader/v7"

	"zoomsignage/connections"
)

// A ZoomConnection's summary fields (lastSync, lastSuccessfulSyncAt,
// roomCount, activeSignageCount, activatedRoomCount) each have a resolver;
// read one by one they cost two statements per field per connection. They
// go through one per-response loader instead: every connection of a
// response, every field, two statements (connections.Summaries).

type connectionLoadersKey struct{}

// lazyConnectionLoaders builds a response's summary loader on first use.
type lazyConnectionLoaders struct {
	once     sync.Once
	summary  *dataloader.Loader[string, connections.Summary]
	tenantID string
	svc      *connections.Service
}

func (lz *lazyConnectionLoaders) get() *dataloader.Loader[string, connections.Summary] {
	lz.once.Do(func() {
		lz.summary = dataloader.NewBatchedLoader(func(ctx context.Context, ids []string) []*dataloader.Result[connections.Summary] {
			m, err := lz.svc.Summaries(ctx, lz.tenantID, ids)
			return byKey(ids, m, err)
		}, dataloader.WithWait[string, connections.Summary](loaderWait))
	})
	return lz.summary
}

// withConnectionLoaders gives a response its (lazy) summary loader.
func withConnectionLoaders(ctx context.Context, tenantID string, svc *connections.Service) context.Context {
	return context.WithValue(ctx, connectionLoadersKey{}, &lazyConnectionLoaders{tenantID: tenantID, svc: svc})
}

// loadSummary reads a connection's summary through the response's loader,
// or directly where the schema was not wrapped (WithRoomLoaders).
func loadSummary(ctx context.Context, svc *connections.Service, tenantID, connectionID string) (connections.Summary, error) {
	lz, ok := ctx.Value(connectionLoadersKey{}).(*lazyConnectionLoaders)
	if !ok {
		return svc.Summary(ctx, tenantID, connectionID)
	}
	return lz.get().Load(ctx, connectionID)()
}
