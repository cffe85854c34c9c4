// Package scalars marshals the GraphQL API's custom and numeric scalars.
// It exists so that a malformed value in a query (a date that is not RFC
// 3339, an integer out of range) is reported to the client as
// BAD_USER_INPUT naming the problem, rather than as an internal error.
package scalars

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"zoomsignage/apierror"
)

// MarshalTime writes t in RFC 3339 with nanoseconds, in UTC.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339Nano)))
	})
}

// UnmarshalTime reads an RFC 3339 timestamp.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, apierror.Invalid("", "a Time must be an RFC 3339 string such as 2026-01-02T15:04:05Z")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, apierror.Invalid("", "%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", truncate(s))
	}
	return t, nil
}

// MarshalInt writes a 32-bit GraphQL Int.
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads a GraphQL Int, which the spec bounds to 32 bits.
func UnmarshalInt(v any) (int, error) {
	var n int64
	switch v := v.(type) {
	case int:
		n = int64(v)
	case int32:
		n = int64(v)
	case int64:
		n = v
	case json.Number:
		i, err := v.Int64()
		if err != nil {
			return 0, apierror.Invalid("", "%s is not a whole number in the 32-bit range", truncate(v.String()))
		}
		n = i
	case string:
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, apierror.Invalid("", "%q is not a whole number", truncate(v))
		}
		n = i
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > math.MaxInt32 {
			return 0, apierror.Invalid("", "%v is not a whole number in the 32-bit range", v)
		}
		n = int64(v)
	default:
		return 0, apierror.Invalid("", "an Int must be a whole number")
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, apierror.Invalid("", "%d is outside the 32-bit range of a GraphQL Int", n)
	}
	return int(n), nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%s…", s[:40])
	}
	return s
}
