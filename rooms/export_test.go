package rooms

import (
	"context"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// PushLease is the lease bound, for tests that age a lease on either side
// of it.
const PushLease = pushLease

// ClaimForPush claims the room's assignment as a push does (in the states a
// push claims), reporting whether the lease was taken; it is released at
// once.
func (s *Service) ClaimForPush(ctx context.Context, tenantID, roomID string) (bool, error) {
	owner := newLeaseOwner()
	a, ok, err := s.claimAssignment(ctx, tenantID, roomID, owner, SignagePushing, SignagePending, SignageFailed, SignageActive)
	if err != nil || !ok {
		return ok, err
	}
	return true, s.releaseLease(ctx, a, owner)
}

// Repairs is how many repairs of reason the reconciler counted.
func (s *Service) Repairs(reason string) float64 {
	return testutil.ToFloat64(s.metrics.repairs.WithLabelValues(reason))
}

// Drift reasons, for tests.
const (
	DriftDisabled    = driftDisabled
	DriftContentGone = driftContentGone
)
