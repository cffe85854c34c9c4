package resolvers

import "zoomsignage/apierror"

// defaultPageSize is a page's size when a connection is asked for with
// neither first nor last.
const defaultPageSize = 50

// relayPage is the direction, size and cursor of a Relay connection page.
type relayPage struct {
	// backward pages with last/before: the items just before the cursor
	// (or the last ones), still returned in the list's forward order.
	backward bool
	size     int
	cursor   string
}

// relayPageArgs decides a page from the Relay connection arguments. One
// direction per request: first and last together, or a cursor of the other
// direction, would ask for two pages at once, and silently dropping one of
// them would return something the client did not ask for, so they are
// refused. The size bound is the domain's (the same for first and last).
func relayPageArgs(first *int, after *string, last *int, before *string) (relayPage, error) {
	if first != nil && last != nil {
		return relayPage{}, apierror.Invalid("last", "first and last cannot be used together")
	}
	a, b := deref(after, ""), deref(before, "")
	if last != nil || b != "" {
		if first != nil {
			return relayPage{}, apierror.Invalid("before", "before pages backwards: use it with last, not first")
		}
		if a != "" {
			return relayPage{}, apierror.Invalid("after", "after pages forwards: use it with first, not last or before")
		}
		return relayPage{backward: true, size: deref(last, defaultPageSize), cursor: b}, nil
	}
	return relayPage{size: deref(first, defaultPageSize), cursor: a}, nil
}

// hasPrevious and hasNext fill PageInfo for the side the page was not
// counted on: a page that starts from a cursor has at least the cursor's
// item on that side.
func (p relayPage) hasPrevious(counted bool) bool {
	if p.backward {
		return counted
	}
	return p.cursor != ""
}

func (p relayPage) hasNext(counted bool) bool {
	if p.backward {
		return p.cursor != ""
	}
	return counted
}
