// Package jobtime sizes the attempts of every River job from one number, how
// soon a job whose replica died (kill -9, a lost node) is rescued by
// another replica. River only rescues a job once it has been running longer
// than both RescueStuckJobsAfter and its kind's timeout, so no attempt may
// be longer than the rescue horizon: long work (a disconnect's cleanup, a
// device refresh) does one slice per attempt, checkpoints, and snoozes to
// continue, instead of holding one ten-minute attempt a dead replica would
// keep for ten minutes.
package jobtime

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// DefaultRescueAfter is River's rescue horizon when none is configured. With
// River's 30 s rescuer tick, a second of retry delay and the scheduler's
// 5 s, a dead replica's job runs again within about 100 s (and within two
// minutes when the dead replica was also the leader: a new leader is
// elected within 15 s and rescues at once).
const DefaultRescueAfter = 60 * time.Second

// MinRescueAfter is the shortest horizon accepted: below it the slices get
// too short for a Zoom call.
const MinRescueAfter = 2 * time.Second

// Continue is the snooze a job returns once its slice is used up: it runs
// its next slice at once (a snooze uses up no attempt).
const Continue = time.Second

// Timing derives the attempt bounds from the rescue horizon.
type Timing struct {
	// RescueAfter is River's RescueStuckJobsAfter; DefaultRescueAfter when
	// zero.
	RescueAfter time.Duration
}

// Rescue is the rescue horizon.
func (t Timing) Rescue() time.Duration {
	if t.RescueAfter <= 0 {
		return DefaultRescueAfter
	}
	return t.RescueAfter
}

// JobTimeout is the longest one attempt of any job may run (River's
// JobTimeout and the ceiling of every kind's Timeout): three quarters of the
// horizon, so a live attempt is never rescued while it still works.
func (t Timing) JobTimeout() time.Duration { return t.Rescue() * 3 / 4 }

// Slice is how long a long job works in one attempt before it checkpoints
// and snoozes with Continue: half the horizon, which leaves the rest of the
// attempt's timeout for the call in flight and the checkpoint's write.
func (t Timing) Slice() time.Duration { return t.Rescue() / 2 }

// NextRetry is the retry time of a failed attempt: within Continue when the
// attempt outlived its timeout (a rescued job whose replica died, or an
// attempt cut by its timeout), since the job is resumable and waiting
// River's errors^4 backoff (minutes after a few failures) would keep its
// connection stuck; River's default backoff for any other failure.
func NextRetry(job *rivertype.JobRow, timeout time.Duration) time.Time {
	now := time.Now()
	if job.AttemptedAt != nil && now.Sub(*job.AttemptedAt) >= timeout {
		return now.Add(Continue)
	}
	return (&river.DefaultClientRetryPolicy{}).NextRetry(job)
}

type sliceEndKey struct{}

// WithSlice marks ctx with the end of a job's slice, d from now. Unlike a
// context deadline it cancels nothing: the job checks SliceUsed between two
// units of work, so a Zoom call in flight is never cut halfway.
func WithSlice(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, sliceEndKey{}, time.Now().Add(d))
}

// SliceUsed reports whether the slice of ctx has ended; work called without
// a slice (a mutation's inline wait) goes on until it is done.
func SliceUsed(ctx context.Context) bool {
	end, ok := ctx.Value(sliceEndKey{}).(time.Time)
	return ok && !time.Now().Before(end)
}
