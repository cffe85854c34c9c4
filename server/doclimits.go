package server

import (
	"context"
	"errors"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"zoomsignage/apierror"
)

// docLimits refuses hostile documents before validation costs anything
// (issue 10 items 2, 3 and 10). gqlgen parses and validates in one step,
// and validation's overlap check compares every pair of fields sharing a
// response key: `{a a a …}` is quadratic, 16 KB of it took 2 s. So, for a
// document not yet in the query cache, this extension runs first:
//
//  1. a lexer pass counts tokens (TOKEN_LIMIT_EXCEEDED), so no document
//     costs more than one pass over it;
//  2. the parsed document is walked once for repeated response keys
//     (REPEAT_LIMIT_EXCEEDED), aliases (ALIAS_LIMIT_EXCEEDED), directives
//     (DIRECTIVE_LIMIT_EXCEEDED) and NUL bytes in string literals;
//  3. it is validated with a rule that stops the walk once the request's
//     context ends (VALIDATION_TIMEOUT), and a valid document goes into
//     gqlgen's query cache, where gqlgen finds it instead of parsing and
//     validating again.
//
// A document with validation errors is not cached: gqlgen validates it
// again to report them, at the bounded cost the limits leave. Variables are
// checked for NUL bytes on every request, cached document or not.
type docLimits struct {
	tokens, repeats, aliases, directives int
	schema                               *ast.Schema
	cache                                graphql.Cache[*ast.QueryDocument]
	// suggestions keeps validation's "Did you mean …" hints (dev mode).
	suggestions bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = docLimits{}

func (docLimits) ExtensionName() string                   { return "DocumentLimits" }
func (docLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l docLimits) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if path, ok := nulIn(p.Variables); ok {
		return nulError("variables." + path)
	}
	if _, ok := l.cache.Get(ctx, p.Query); ok {
		return nil
	}
	if err := l.countTokens(p.Query); err != nil {
		return err
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: p.Query})
	if err != nil {
		return nil // gqlgen reports the syntax error
	}
	w := docWalker{l: l}
	if err := w.document(doc); err != nil {
		return err
	}
	errs, timeout := validateWithin(ctx, l.schema, doc, validationRules(l.suggestions))
	if timeout != nil {
		return timeout
	}
	if len(errs) == 0 && len(doc.Operations) > 0 {
		l.cache.Add(ctx, p.Query, doc)
	}
	return nil
}

// countTokens refuses a document of more than l.tokens tokens, reading no
// further than the first token past the limit. Comments are not counted:
// they cost nothing after the lexer. A lexical error is left to the parser
// to report.
func (l docLimits) countTokens(query string) *gqlerror.Error {
	lx := lexer.New(&ast.Source{Input: query})
	for n := 0; ; {
		tok, err := lx.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			return nil
		}
		if tok.Kind == lexer.Comment {
			continue
		}
		if n++; n > l.tokens {
			return limitError(apierror.TokenLimitExceeded, "document has more than %d tokens; the limit is %d", l.tokens, l.tokens)
		}
	}
}

// docWalker visits every selection set of a document once, without
// expanding fragment spreads, so it is linear in the document.
type docWalker struct {
	l       docLimits
	aliases int
}

func (w *docWalker) document(doc *ast.QueryDocument) *gqlerror.Error {
	for _, op := range doc.Operations {
		if err := w.directives(op.Directives, "operation"); err != nil {
			return err
		}
		for _, v := range op.VariableDefinitions {
			if err := w.value(v.DefaultValue, "$"+v.Variable); err != nil {
				return err
			}
		}
		if err := w.selectionSet(op.SelectionSet); err != nil {
			return err
		}
	}
	for _, f := range doc.Fragments {
		if err := w.directives(f.Directives, "fragment "+f.Name); err != nil {
			return err
		}
		if err := w.selectionSet(f.SelectionSet); err != nil {
			return err
		}
	}
	return nil
}

// selectionSet counts response keys the way validation's overlap check
// gathers them: fields of inline fragments belong to the enclosing set.
// Keys are counted per type condition, so `... on A {id} ... on B {id}` over
// an interface's implementations is no repeat; a schema has only so many
// types, which keeps the pairs validation compares bounded all the same.
func (w *docWalker) selectionSet(set ast.SelectionSet) *gqlerror.Error {
	if len(set) == 0 {
		return nil
	}
	keys := map[string]int{}
	return w.selections(set, keys, "")
}

func (w *docWalker) selections(set ast.SelectionSet, keys map[string]int, on string) *gqlerror.Error {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			key := sel.Alias
			if key == "" {
				key = sel.Name
			}
			if key != sel.Name {
				if w.aliases++; w.aliases > w.l.aliases {
					return limitError(apierror.AliasLimitExceeded, "document has more than %d aliases; the limit is %d", w.l.aliases, w.l.aliases)
				}
			}
			if err := w.repeat(keys, on+"\x00"+key, key); err != nil {
				return err
			}
			if err := w.directives(sel.Directives, key); err != nil {
				return err
			}
			for _, arg := range sel.Arguments {
				if err := w.value(arg.Value, key+"."+arg.Name); err != nil {
					return err
				}
			}
			if err := w.selectionSet(sel.SelectionSet); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := w.directives(sel.Directives, "inline fragment"); err != nil {
				return err
			}
			cond := on
			if sel.TypeCondition != "" {
				cond = sel.TypeCondition
			}
			if err := w.selections(sel.SelectionSet, keys, cond); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			if err := w.repeat(keys, "..."+sel.Name, "..."+sel.Name); err != nil {
				return err
			}
			if err := w.directives(sel.Directives, "..."+sel.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *docWalker) repeat(keys map[string]int, key, name string) *gqlerror.Error {
	if keys[key]++; keys[key] > w.l.repeats {
		return limitError(apierror.RepeatLimitExceeded, "%s appears more than %d times in one selection set; the limit is %d", name, w.l.repeats, w.l.repeats)
	}
	return nil
}

func (w *docWalker) directives(list ast.DirectiveList, where string) *gqlerror.Error {
	if len(list) > w.l.directives {
		return limitError(apierror.DirectiveLimitExceeded, "%s has %d directives; the limit is %d", where, len(list), w.l.directives)
	}
	for _, d := range list {
		for _, arg := range d.Arguments {
			if err := w.value(arg.Value, "@"+d.Name+"."+arg.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// value refuses a string literal with a NUL byte: Postgres cannot store
// one, and it would come back as an internal error.
func (w *docWalker) value(v *ast.Value, path string) *gqlerror.Error {
	if v == nil {
		return nil
	}
	if (v.Kind == ast.StringValue || v.Kind == ast.BlockValue) && strings.IndexByte(v.Raw, 0) >= 0 {
		return nulError(path)
	}
	for _, c := range v.Children {
		p := path
		if c.Name != "" {
			p += "." + c.Name
		}
		if err := w.value(c.Value, p); err != nil {
			return err
		}
	}
	return nil
}

// nulIn finds a string with a NUL byte in decoded JSON variables and
// returns its path.
func nulIn(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return "", strings.IndexByte(v, 0) >= 0
	case map[string]any:
		for k, c := range v {
			if p, ok := nulIn(c); ok {
				return joinPath(k, p), true
			}
		}
	case []any:
		for _, c := range v {
			if p, ok := nulIn(c); ok {
				return p, true
			}
		}
	}
	return "", false
}

func joinPath(k, rest string) string {
	if rest == "" {
		return k
	}
	return k + "." + rest
}

func nulError(path string) *gqlerror.Error {
	err := limitError(apierror.BadUserInput, "string input must not contain NUL bytes (%s)", path)
	err.Extensions["field"] = path
	return err
}

// validationRules are gqlparser's default rules, with the variants that
// suggest no names unless suggestions are wanted: outside dev mode an
// anonymous caller learns nothing of the schema from a typo.
func validationRules(suggestions bool) *rules.Rules {
	rs := rules.NewDefaultRules()
	if suggestions {
		return rs
	}
	for _, r := range []core.Rule{
		rules.FieldsOnCorrectTypeRuleWithoutSuggestions,
		rules.ScalarLeafsRuleWithoutSuggestions,
		rules.KnownArgumentNamesRuleWithoutSuggestions,
		rules.KnownTypeNamesRuleWithoutSuggestions,
		rules.ValuesOfCorrectTypeRuleWithoutSuggestions,
	} {
		rs.RemoveRule(strings.TrimSuffix(r.Name, "WithoutSuggestions"))
		rs.AddRule(r.Name, r.RuleFunc)
	}
	return rs
}

// errValidationDeadline unwinds the validator's walk once the request's
// context has ended; validateWithin recovers it.
var errValidationDeadline = errors.New("server: validation outlasted the request")

// deadlineRule's name sorts before every rule of gqlparser's (they are run
// in name order), so at each node it checks the context before any other
// rule does work on it.
const deadlineRule = "!deadline"

// validateWithin validates doc, giving up with VALIDATION_TIMEOUT once ctx
// ends: gqlparser's validator takes no context, so a rule checks it at each
// field, fragment and directive and unwinds the walk with a panic.
func validateWithin(ctx context.Context, schema *ast.Schema, doc *ast.QueryDocument, rs *rules.Rules) (errs gqlerror.List, timeout *gqlerror.Error) {
	rs.AddRule(deadlineRule, func(observers *core.Events, _ core.AddErrFunc) {
		check := func() {
			if ctx.Err() != nil {
				panic(errValidationDeadline)
			}
		}
		observers.OnField(func(*core.Walker, *ast.Field) { check() })
		observers.OnFragment(func(*core.Walker, *ast.FragmentDefinition) { check() })
		observers.OnFragmentSpread(func(*core.Walker, *ast.FragmentSpread) { check() })
		observers.OnInlineFragment(func(*core.Walker, *ast.InlineFragment) { check() })
		observers.OnDirectiveList(func(*core.Walker, []*ast.Directive) { check() })
	})
	defer func() {
		if r := recover(); r != nil {
			if r != errValidationDeadline { //nolint:errorlint // the sentinel itself is what was thrown
				panic(r)
			}
			timeout = limitError(apierror.ValidationTimeout, "validating the document took longer than the request may")
		}
	}()
	if ctx.Err() != nil {
		panic(errValidationDeadline)
	}
	return validator.ValidateWithRules(schema, doc, rs), nil
}
