package resolvers

import (
	"math"

	"zoomsignage/audit"
	"zoomsignage/graph"
	"zoomsignage/graph/model"
	"zoomsignage/rooms"
	"zoomsignage/webhooks"
)

// SetComplexity gives list fields a cost proportional to the page they ask
// for, so one global limit (GATEWAY_COMPLEXITY_LIMIT) bounds every query:
// a field costs 1 plus its children, and a page costs its children times
// its size.
func SetComplexity(c *graph.ComplexityRoot) {
	c.Query.AuditEvents = func(child int, first *int, _ *string, last *int, _ *string, _ *model.AuditFilter) int {
		return pagedCost(child, pageCostEither(first, last, 50, audit.MaxPageSize))
	}
	c.Query.Rooms = func(child int, _ *string, _ *model.RoomFilter, first *int, _ *string, last *int, _ *string) int {
		return pagedCost(child, pageCostEither(first, last, 50, rooms.MaxPageSize))
	}
	c.Query.WebhookDeliveries = func(child int, _ string, first *int, _ *string) int {
		return pagedCost(child, pageCost(first, 50, webhooks.MaxPageSize))
	}
}

// pagedCost is 1 + child×items, saturating so nested pages can never wrap
// around to a small (or negative) cost.
func pagedCost(child, items int) int {
	const ceiling = math.MaxInt32
	if child > 0 && items > ceiling/child {
		return ceiling
	}
	return 1 + child*items
}

// pageCostEither is pageCost for a connection that pages both ways: last
// costs like first, and when both are given (which the resolver refuses)
// the larger counts, so the refusal cannot make the operation look cheap.
func pageCostEither(first, last *int, def, maxSize int) int {
	switch {
	case first == nil && last == nil:
		return def
	case last == nil:
		return pageCost(first, def, maxSize)
	case first == nil:
		return pageCost(last, def, maxSize)
	}
	return max(pageCost(first, def, maxSize), pageCost(last, def, maxSize))
}

// pageCost is the number of items a page argument may return. A value out of
// range costs the maximum: the resolver will refuse it, but it must not make
// the rest of the operation look cheap.
func pageCost(first *int, def, maxSize int) int {
	if first == nil {
		return def
	}
	if *first < 0 || *first > maxSize {
		return maxSize
	}
	return max(*first, 1)
}
