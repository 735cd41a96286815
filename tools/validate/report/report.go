// Package report holds the problems the validator finds, each tied to the
// file (and object) it was found in, so that a failing run says exactly what
// to fix and where.
package report

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with the repository's deployment files.
type Problem struct {
	// Path is the file, relative to the repository root when known.
	Path string
	// Object names the object inside the file ("Trigger edgewatch/motion-detect"),
	// or is empty for a problem with the file as a whole.
	Object string
	// Check names the check that failed ("knative", "contract", "metrics", ...).
	Check string
	// Message says what is wrong.
	Message string
}

// String formats the problem as "path: object: [check] message".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Path)
	if p.Object != "" {
		b.WriteString(": ")
		b.WriteString(p.Object)
	}
	fmt.Fprintf(&b, ": [%s] %s", p.Check, p.Message)
	return b.String()
}

// List collects problems.
type List struct {
	problems []Problem
}

// Add records a problem.
func (l *List) Add(p Problem) { l.problems = append(l.problems, p) }

// Addf records a problem with a formatted message.
func (l *List) Addf(path, object, check, format string, args ...any) {
	l.Add(Problem{Path: path, Object: object, Check: check, Message: fmt.Sprintf(format, args...)})
}

// Merge appends every problem of other.
func (l *List) Merge(other *List) {
	if other != nil {
		l.problems = append(l.problems, other.problems...)
	}
}

// Problems returns the problems sorted by path, object and message, without
// exact duplicates.
func (l *List) Problems() []Problem {
	out := append([]Problem(nil), l.problems...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	dedup := out[:0]
	for i, p := range out {
		if i > 0 && p == out[i-1] {
			continue
		}
		dedup = append(dedup, p)
	}
	return dedup
}

// Len returns the number of problems recorded.
func (l *List) Len() int { return len(l.problems) }

// Err returns nil when the list is empty, else an error listing every problem.
func (l *List) Err() error {
	ps := l.Problems()
	if len(ps) == 0 {
		return nil
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return fmt.Errorf("%d problem(s):\n%s", len(ps), strings.Join(lines, "\n"))
}
