package zoomspec

import "github.com/getkin/kin-openapi/openapi3"

// relaxDoc turns overlapping oneOf lists into anyOf throughout doc (see the
// package documentation for why).
func relaxDoc(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	if doc.Components != nil {
		for _, s := range doc.Components.Schemas {
			relaxSchema(s, seen)
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, p := range item.Parameters {
			relaxParam(p, seen)
		}
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				relaxParam(p, seen)
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				relaxContent(op.RequestBody.Value.Content, seen)
			}
			for _, r := range op.Responses.Map() {
				if r.Value != nil {
					relaxContent(r.Value.Content, seen)
				}
			}
		}
	}
}

func relaxParam(p *openapi3.ParameterRef, seen map[*openapi3.Schema]bool) {
	if p != nil && p.Value != nil {
		relaxSchema(p.Value.Schema, seen)
	}
}

func relaxContent(c openapi3.Content, seen map[*openapi3.Schema]bool) {
	for _, mt := range c {
		if mt != nil {
			relaxSchema(mt.Schema, seen)
		}
	}
}

// relaxSchema walks a schema tree once, rewriting oneOf where a branch
// has no required properties.
func relaxSchema(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if overlapping(s.OneOf) {
		s.AnyOf = append(s.AnyOf, s.OneOf...)
		s.OneOf = nil
	}
	for _, list := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf, s.AllOf} {
		for _, b := range list {
			relaxSchema(b, seen)
		}
	}
	relaxSchema(s.Not, seen)
	relaxSchema(s.Items, seen)
	for _, p := range s.Properties {
		relaxSchema(p, seen)
	}
	if s.AdditionalProperties.Schema != nil {
		relaxSchema(s.AdditionalProperties.Schema, seen)
	}
}

// overlapping reports whether a oneOf list has a branch without required
// properties, which therefore matches almost any object.
func overlapping(branches openapi3.SchemaRefs) bool {
	for _, b := range branches {
		if b != nil && b.Value != nil && len(b.Value.Required) == 0 {
			return true
		}
	}
	return false
}
