package metrics

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Dashboard is the part of a Grafana dashboard the checks read.
type Dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []Panel `json:"panels"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Panel is a Grafana panel; rows hold panels of their own.
type Panel struct {
	ID      int      `json:"id"`
	Type    string   `json:"type"`
	Title   string   `json:"title"`
	Targets []Target `json:"targets"`
	Panels  []Panel  `json:"panels"`
}

// Target is one query of a panel.
type Target struct {
	RefID string `json:"refId"`
	Expr  string `json:"expr"`
}

// Variable is a dashboard template variable.
type Variable struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Query json.RawMessage `json:"query"`
}

// Query is one PromQL expression of a dashboard and where it is.
type Query struct {
	// Where names the panel or variable, e.g. `panel 3 "Requests per revision" A`.
	Where string
	Expr  string
}

// ParseDashboard parses a dashboard's JSON and checks its structure: a uid
// and title, unique panel ids, a title and type on every panel and an expr
// on every target. It returns the dashboard's PromQL queries.
func ParseDashboard(data []byte) (*Dashboard, []Query, []error) {
	var d Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, nil, []error{fmt.Errorf("not a dashboard: %w", err)}
	}
	var errs []error
	if d.UID == "" || d.Title == "" {
		errs = append(errs, fmt.Errorf("uid and title are required"))
	}
	var queries []Query
	ids := map[int]string{}
	var walk func([]Panel)
	walk = func(panels []Panel) {
		for _, p := range panels {
			where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			if prev, dup := ids[p.ID]; dup {
				errs = append(errs, fmt.Errorf("%s: id %d is also used by %q", where, p.ID, prev))
			}
			ids[p.ID] = p.Title
			if p.Title == "" || p.Type == "" {
				errs = append(errs, fmt.Errorf("%s: title and type are required", where))
			}
			if p.Type != "row" && p.Type != "text" && len(p.Targets) == 0 {
				errs = append(errs, fmt.Errorf("%s: no targets", where))
			}
			for _, t := range p.Targets {
				if strings.TrimSpace(t.Expr) == "" {
					errs = append(errs, fmt.Errorf("%s target %s: empty expr", where, t.RefID))
					continue
				}
				queries = append(queries, Query{Where: where + " target " + t.RefID, Expr: t.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if expr, ok := variableExpr(v.Query); ok {
			queries = append(queries, Query{Where: "variable " + v.Name, Expr: expr})
		}
	}
	return &d, queries, errs
}

var (
	labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)
	queryResult = regexp.MustCompile(`^\s*query_result\((.*)\)\s*$`)
)

// variableExpr returns the PromQL inside a Prometheus query variable
// (label_values(expr, label) or query_result(expr)); the query is either a
// string or an object with a "query" string.
func variableExpr(raw json.RawMessage) (string, bool) {
	var q string
	if err := json.Unmarshal(raw, &q); err != nil {
		var obj struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(raw, &obj) != nil {
			return "", false
		}
		q = obj.Query
	}
	if m := labelValues.FindStringSubmatch(q); m != nil {
		return m[1], true
	}
	if m := queryResult.FindStringSubmatch(q); m != nil {
		return m[1], true
	}
	return "", false
}

// CheckQueries checks that every query parses, names only exported series
// and reads through rate(), irate() or increase() only series that can show
// their first increase; each error names the query's place.
func CheckQueries(e Exported, queries []Query) []error {
	var errs []error
	for _, q := range queries {
		uses, err := MetricUses(q.Expr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w in %q", q.Where, err, q.Expr))
			continue
		}
		if len(uses) == 0 {
			errs = append(errs, fmt.Errorf("%s: selects no metric: %q", q.Where, q.Expr))
		}
		for _, u := range uses {
			if ok, why := e.Series(u.Name); !ok {
				errs = append(errs, fmt.Errorf("%s: metric %s %s", q.Where, u.Name, why))
				continue
			}
			if err := e.firstIncrease(u); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", q.Where, err))
			}
		}
	}
	return errs
}

// firstIncrease fails a use that can never see the first occurrence of a
// label value: rate(), irate() and increase() take the difference between
// samples, so a series that first appears at 1 shows no increase. That is
// every series of an edgewatch counter or histogram declared with labels,
// unless the metric is declared exported from the start.
func (e Exported) firstIncrease(u Use) error {
	if !u.Counted {
		return nil
	}
	family, s, ok := e.family(u.Name)
	if !ok || !s.Labelled || s.AtStart || (s.Kind != Counter && s.Kind != Histogram) {
		return nil
	}
	return fmt.Errorf("%s is a labelled %s whose series are not exported from the start (%s does not list it), "+
		"so rate() and increase() never see the first occurrence of a label value: start its series at zero and list it, or query another metric",
		family, s.Kind, StartSeriesFile)
}

// StartSeriesFile is where the metrics exported from the start are listed,
// relative to the repository root.
const StartSeriesFile = "config/monitoring/series-at-start.txt"
