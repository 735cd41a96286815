package metrics

import (
	"fmt"
	"strings"
)

// promqlFunctions are PromQL's functions and aggregation operators: names
// followed by "(" (or, for aggregations, by "by"/"without") that are not
// metric names.
var promqlFunctions = setOf(
	// aggregations
	"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
	"bottomk", "topk", "quantile", "limitk", "limit_ratio",
	// functions
	"abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
	"day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp", "floor",
	"histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev",
	"histogram_stdvar", "histogram_sum", "holt_winters", "double_exponential_smoothing", "hour", "idelta",
	"increase", "irate", "label_join", "label_replace", "ln", "log2", "log10", "minute", "month",
	"predict_linear", "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sort_by_label",
	"sort_by_label_desc", "sqrt", "time", "timestamp", "vector", "year", "avg_over_time", "min_over_time",
	"max_over_time", "sum_over_time", "count_over_time", "quantile_over_time", "stddev_over_time",
	"stdvar_over_time", "last_over_time", "present_over_time", "mad_over_time", "acos", "acosh", "asin",
	"asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad", "pi", "info",
)

// promqlKeywords are words of PromQL's grammar.
var promqlKeywords = setOf("by", "without", "on", "ignoring", "group_left", "group_right",
	"bool", "offset", "and", "or", "unless", "atan2", "inf", "nan", "start", "end")

// labelLists are keywords followed by a parenthesised list of label names.
var labelLists = setOf("by", "without", "on", "ignoring", "group_left", "group_right")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// counterFunctions are the functions whose answer for a series is the
// increase between its samples: they see nothing of a series' first sample.
var counterFunctions = setOf("rate", "irate", "increase")

// Use is one metric a PromQL expression selects.
type Use struct {
	Name string
	// Counted is true inside rate(), irate() or increase().
	Counted bool
}

// MetricNames returns the metric names a PromQL expression selects, in order
// of appearance. Grafana variables ($var, ${var}, [[var]], $__rate_interval)
// are allowed where PromQL allows a duration or a label value. It fails on
// unbalanced brackets, unterminated strings and unknown functions.
func MetricNames(expr string) ([]string, error) {
	uses, err := MetricUses(expr)
	names := make([]string, 0, len(uses))
	for _, u := range uses {
		names = append(names, u.Name)
	}
	return names, err
}

// MetricUses is MetricNames, telling also which names are read through
// rate(), irate() or increase().
func MetricUses(expr string) ([]Use, error) {
	s := expr
	var names []Use
	depth := 0
	// calls holds the open function calls with the depth of their "(".
	type call struct {
		name  string
		depth int
	}
	var calls []call
	counted := func() bool {
		for _, c := range calls {
			if counterFunctions[c.name] {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#': // comment to end of line
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j, err := skipString(s, i)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '{':
			j, err := skipUntil(s, i, '}')
			if err != nil {
				return nil, err
			}
			i = j
		case c == '[':
			j, err := skipUntil(s, i, ']')
			if err != nil {
				return nil, err
			}
			i = j
		case c == '$':
			i = skipVariable(s, i)
		case c == '(':
			depth++
			i++
		case c == ')':
			if n := len(calls); n > 0 && calls[n-1].depth == depth {
				calls = calls[:n-1]
			}
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced ')' at %d", i)
			}
			i++
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			i = skipNumber(s, i)
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			next := nextNonSpace(s, j)
			switch {
			case labelLists[word] && next < len(s) && s[next] == '(':
				k, err := skipUntil(s, next, ')')
				if err != nil {
					return nil, err
				}
				j = k
			case promqlKeywords[word]:
			case next < len(s) && s[next] == '(':
				if !promqlFunctions[word] {
					return nil, fmt.Errorf("unknown function %q", word)
				}
				calls = append(calls, call{name: word, depth: depth + 1})
			case promqlFunctions[word] && next < len(s) && isIdentStart(s[next]):
				// an aggregation followed by by/without
			default:
				names = append(names, Use{Name: word, Counted: counted()})
			}
			i = j
		default:
			i++
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced '('")
	}
	return names, nil
}

func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] == '\\' && q != '`' {
			j++
			continue
		}
		if s[j] == q {
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at %d", i)
}

func skipUntil(s string, i int, closer byte) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '"', '\'', '`':
			k, err := skipString(s, j)
			if err != nil {
				return 0, err
			}
			j = k - 1
		case closer:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("%q at %d is not closed", s[i], i)
}

func skipVariable(s string, i int) int {
	j := i + 1
	if j < len(s) && s[j] == '{' {
		if k := strings.IndexByte(s[j:], '}'); k >= 0 {
			return j + k + 1
		}
		return len(s)
	}
	for j < len(s) && isIdent(s[j]) {
		j++
	}
	return j
}

func skipNumber(s string, i int) int {
	j := i
	if strings.HasPrefix(s[j:], "0x") || strings.HasPrefix(s[j:], "0X") {
		j += 2
	}
	for j < len(s) {
		c := s[j]
		if isDigit(c) || c == '.' || isLetter(c) || c == '_' {
			j++
			continue
		}
		if (c == '+' || c == '-') && (s[j-1] == 'e' || s[j-1] == 'E') {
			j++
			continue
		}
		break
	}
	return j
}

func nextNonSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isLetter(c byte) bool     { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isIdentStart(c byte) bool { return isLetter(c) || c == '_' || c == ':' }
func isIdent(c byte) bool      { return isIdentStart(c) || isDigit(c) }
