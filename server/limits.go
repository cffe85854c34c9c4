package server

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// shapeLimit rejects operations nested deeper than maxDepth or whose
// selections, with every fragment spread expanded, exceed maxFields. It runs
// before gqlgen's complexity limit because that walk expands fragments
// without memoisation: `fragment F1 on Q {...F2 ...F2}`, `F2 {...F3 ...F3}`…
// is a kilobyte of valid GraphQL that doubles the work with each fragment.
// Here each fragment is measured once, so the check is linear in the
// document, and counts saturate so no arithmetic overflows.
type shapeLimit struct {
	maxDepth, maxFields int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = shapeLimit{}

func (shapeLimit) ExtensionName() string                   { return "ShapeLimit" }
func (shapeLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (l shapeLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	m := &shapeMeter{frags: oc.Doc.Fragments, memo: map[string]shape{}, cap: l.maxFields + 1}
	s := m.measure(oc.Operation.SelectionSet)
	switch {
	case s.depth > l.maxDepth:
		return limitError("DEPTH_LIMIT_EXCEEDED", "operation is nested %d levels deep; the limit is %d", s.depth, l.maxDepth)
	case s.fields > l.maxFields:
		return limitError("FIELD_LIMIT_EXCEEDED", "operation selects more than %d fields once fragments are expanded; the limit is %d", l.maxFields, l.maxFields)
	}
	return nil
}

func limitError(code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	err.Extensions = map[string]any{"code": code}
	return err
}

// shape is the depth and expanded field count of a selection set.
type shape struct{ depth, fields int }

type shapeMeter struct {
	frags ast.FragmentDefinitionList
	memo  map[string]shape
	cap   int
}

func (m *shapeMeter) measure(set ast.SelectionSet) shape {
	var total shape
	for _, sel := range set {
		var s shape
		switch sel := sel.(type) {
		case *ast.Field:
			child := m.measure(sel.SelectionSet)
			s = shape{depth: 1 + child.depth, fields: m.add(1, child.fields)}
		case *ast.InlineFragment:
			s = m.measure(sel.SelectionSet)
		case *ast.FragmentSpread:
			s = m.fragment(sel.Name)
		}
		total.depth = max(total.depth, s.depth)
		total.fields = m.add(total.fields, s.fields)
	}
	return total
}

// fragment measures a named fragment once. Validation has already refused
// fragment cycles; the placeholder guards against them anyway.
func (m *shapeMeter) fragment(name string) shape {
	if s, ok := m.memo[name]; ok {
		return s
	}
	m.memo[name] = shape{}
	f := m.frags.ForName(name)
	if f == nil {
		return shape{}
	}
	s := m.measure(f.SelectionSet)
	m.memo[name] = s
	return s
}

// add sums counts, saturating at the cap.
func (m *shapeMeter) add(a, b int) int {
	return min(a+b, m.cap)
}
