// Package contract checks the Triggers of a deployment against edgewatch's
// event contract: every Trigger filters on a type someone produces, every
// type reaches at least one Trigger, and every Trigger can survive a failing
// subscriber (retries and a dead-letter sink), on a RabbitMQ Broker that
// honours only exact attribute filters.
package contract

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strconv"
	"strings"
)

// Contract is what the validator needs to know of the event contract.
type Contract struct {
	// Types are the exact event types, e.g. "dev.edgewatch.motion.detected".
	Types []string
	// Classes are the incident classes ("accident", "fire", ...).
	Classes []string
	// External are the types published for consumers outside edgewatch
	// (the contract's ExternalTypes): no committed Trigger needs to take them.
	External []string
}

// HasType reports whether t is one of the contract's event types.
func (c Contract) HasType(t string) bool { return contains(c.Types, t) }

// HasClass reports whether class is one of the contract's incident classes.
func (c Contract) HasClass(class string) bool { return contains(c.Classes, class) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Load parses the Go file that defines the contract (internal/contract/contract.go):
// string constants named Type* are the event types, the []string variable
// Classes the incident classes.
func Load(path string) (Contract, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return Contract{}, err
	}
	var c Contract
	consts := map[string]string{}
	var external []ast.Expr
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range gd.Specs {
			vs, ok := spec.(*ast.ValueSpec)
			if !ok {
				continue
			}
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				if s, ok := stringLit(vs.Values[i]); ok && gd.Tok == token.CONST {
					consts[name.Name] = s
				}
				switch {
				case gd.Tok == token.CONST && strings.HasPrefix(name.Name, "Type"):
					if s, ok := stringLit(vs.Values[i]); ok {
						c.Types = append(c.Types, s)
					}
				case gd.Tok == token.VAR && name.Name == "ExternalTypes":
					if cl, ok := vs.Values[i].(*ast.CompositeLit); ok {
						external = cl.Elts
					}
				case gd.Tok == token.VAR && name.Name == "Classes":
					if cl, ok := vs.Values[i].(*ast.CompositeLit); ok {
						for _, e := range cl.Elts {
							if s, ok := stringLit(e); ok {
								c.Classes = append(c.Classes, s)
							}
						}
					}
				}
			}
		}
	}
	if len(c.Types) == 0 {
		return c, fmt.Errorf("%s: no Type* string constants found", path)
	}
	for _, e := range external {
		if id, ok := e.(*ast.Ident); ok && consts[id.Name] != "" {
			c.External = append(c.External, consts[id.Name])
		} else if s, ok := stringLit(e); ok {
			c.External = append(c.External, s)
		}
	}
	sort.Strings(c.Types)
	return c, nil
}

func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}
