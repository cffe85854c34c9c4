package server

import (
	"context"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// Validation is bounded by the request: gqlparser's validator takes no
// context, so validateWithin must give up on its own once the context has
// ended (issue 10 item 2). The end-to-end tests cannot hold a request's
// deadline at the moment validation runs; this calls it directly.
func TestValidationStopsAtTheDeadline(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `type Query { a: String b(x: Int): Int }`})
	doc, err := parser.ParseQuery(&ast.Source{Input: `{ a b(x: 1) ...F } fragment F on Query { a }`})
	if err != nil {
		t.Fatal(err)
	}
	errs, timeout := validateWithin(context.Background(), schema, doc, validationRules(false))
	if timeout != nil || len(errs) != 0 {
		t.Fatalf("live context: %v %v", errs, timeout)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, timeout = validateWithin(ctx, schema, doc, validationRules(false))
	if timeout == nil || timeout.Extensions["code"] != "VALIDATION_TIMEOUT" {
		t.Fatalf("ended context: %v", timeout)
	}

	// Ending mid-walk: a context that ends at its third check.
	ctx = &endsAfter{Context: context.Background(), checks: 3}
	_, timeout = validateWithin(ctx, schema, doc, validationRules(false))
	if timeout == nil {
		t.Fatal("a context that ended during validation was not noticed")
	}
}

// endsAfter is a context whose Err turns non-nil after a number of calls.
type endsAfter struct {
	context.Context
	checks int
}

func (c *endsAfter) Err() error {
	if c.checks--; c.checks < 0 {
		return context.DeadlineExceeded
	}
	return nil
}
