package server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
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

// Repeats are counted per type condition: one key under each of many
// types is how an interface is queried, while the same key under one type
// condition repeated is the quadratic document again.
func TestRepeatsAreCountedPerTypeCondition(t *testing.T) {
	limits := docLimits{tokens: 10_000, repeats: 10, aliases: 200, directives: 10}
	walk := func(q string) *gqlerror.Error {
		doc, err := parser.ParseQuery(&ast.Source{Input: q})
		if err != nil {
			t.Fatal(err)
		}
		w := docWalker{l: limits}
		return w.document(doc)
	}
	var distinct, same strings.Builder
	for i := range 11 {
		fmt.Fprintf(&distinct, "... on T%d { id } ", i)
		same.WriteString("... on T { id } ")
	}
	if err := walk("{ n { " + distinct.String() + "} }"); err != nil {
		t.Fatalf("one key under 11 types: %v", err)
	}
	if err := walk("{ n { " + same.String() + "} }"); err == nil || err.Extensions["code"] != "REPEAT_LIMIT_EXCEEDED" {
		t.Fatalf("one key 11 times under one type: %v", err)
	}
	if err := walk("{ n { id " + strings.Repeat("... { id } ", 10) + "} }"); err == nil {
		t.Fatal("untyped inline fragments escaped the count of their enclosing set")
	}
}
