package server

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"zoomsignage/apierror"
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
	// maxMutationFields bounds a mutation's root fields (issue 10 item 6):
	// 100 aliases of restartZoomRoom must not restart a room 100 times.
	maxMutationFields int
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
	roots := rootFields(oc.Doc.Fragments, oc.Operation.SelectionSet)
	introspection := roots.introspection > 0
	switch {
	case introspection && oc.DisableIntrospection:
		// A client error, not an internal one: gqlgen would otherwise run
		// the operation and fail the field with an error logged at ERROR.
		return limitError(apierror.IntrospectionDisabled, "introspection is disabled on this server")
	case roots.schemas > 1:
		// gqlgen's complexity calculation does not count introspection, and
		// one __schema already answers the whole schema.
		return limitError(apierror.ComplexityLimitExceeded, "an operation may select __schema at most once")
	case oc.Operation.Operation == ast.Mutation && roots.fields > l.maxMutationFields:
		return limitError(apierror.BadUserInput, "a mutation may have at most %d root fields (it has %d); use the bulk mutations for bulk work", l.maxMutationFields, roots.fields)
	}
	m := &shapeMeter{frags: oc.Doc.Fragments, memo: map[string]shape{}, cap: l.maxFields + 1}
	s := m.measure(oc.Operation.SelectionSet)
	// An introspection document (only __schema, __type and __typename at
	// its root) is exempt from the depth limit where introspection is
	// served: the standard introspection query is 15 levels deep. It stays
	// bounded by the field limit, by one __schema per operation (gqlgen's
	// complexity limit does not count introspection), and by validation's
	// MaxIntrospectionDepth rule, which refuses fields{type{fields{…}}}
	// chains more than three deep.
	exempt := introspection && roots.fields == 0
	switch {
	case s.depth > l.maxDepth && !exempt:
		return limitError(apierror.DepthLimitExceeded, "operation is nested %d levels deep; the limit is %d", s.depth, l.maxDepth)
	case s.fields > l.maxFields:
		return limitError(apierror.FieldLimitExceeded, "operation selects more than %d fields once fragments are expanded; the limit is %d", l.maxFields, l.maxFields)
	}
	return nil
}

func limitError(code apierror.Code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	err.Extensions = map[string]any{"code": string(code)}
	return err
}

// roots counts an operation's root fields: introspection fields (__schema,
// __type) apart, __typename not at all.
type roots struct{ fields, introspection, schemas int }

// rootFields counts the root fields of set, through inline fragments and
// fragment spreads. Each fragment is counted once however often it is
// spread (a repeated spread selects the same fields again, which merge).
func rootFields(frags ast.FragmentDefinitionList, set ast.SelectionSet) roots {
	var r roots
	seen := map[string]bool{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				switch sel.Name {
				case "__typename":
				case "__schema":
					r.introspection++
					r.schemas++
				case "__type":
					r.introspection++
				default:
					r.fields++
				}
			case *ast.InlineFragment:
				walk(sel.SelectionSet)
			case *ast.FragmentSpread:
				if f := frags.ForName(sel.Name); f != nil && !seen[sel.Name] {
					seen[sel.Name] = true
					walk(f.SelectionSet)
				}
			}
		}
	}
	walk(set)
	return r
}

// errorLimit caps the errors of one response at max, replacing the rest by
// one TOO_MANY_ERRORS error, so a document that fails at every field does
// not answer a list many times its own size (issue 10 item 3).
func errorLimit(max int) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		resp := next(ctx)
		if resp == nil || len(resp.Errors) <= max {
			return resp
		}
		omitted := len(resp.Errors) - max
		resp.Errors = append(resp.Errors[:max:max], limitError(apierror.TooManyErrors, "too many errors: %d more were left out (the limit is %d per response)", omitted, max))
		return resp
	}
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
