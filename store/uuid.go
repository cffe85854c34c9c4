package store

import "strings"

// IsUUID reports whether s is a uuid in its hyphenated text form, so ids
// that cannot exist are answered NOT_FOUND without asking Postgres (which
// would refuse the text and, in a uuid[] parameter, the whole array).
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// UUIDs keeps the ids that are uuids (IsUUID), in order: the others match
// nothing.
func UUIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if IsUUID(id) {
			out = append(out, id)
		}
	}
	return out
}
