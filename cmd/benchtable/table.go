package main

import (
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// BaselineSegment is the sub-benchmark name that marks the bare thing a
// family's variants are compared with.
const BaselineSegment = "baseline"

// Meta describes the machine and moment of the run, for the table's header.
type Meta struct {
	Date      string
	GoVersion string
	Hostname  string
	NumCPU    int
}

// Row is one line of the table.
type Row struct {
	*Result
	Family   string // first name segment, e.g. BenchmarkBroker
	Variant  string // the segment that differs from the baseline ("baseline" for it, "" if none)
	Key      string // the path below the family, variant segment included
	Baseline *Result
}

// Rows pairs every result with its baseline sibling: the result of the same
// package whose name differs only in one segment, which is "baseline".
func Rows(rep *Report) []Row {
	index := map[string]*Result{}
	for _, r := range rep.Results {
		index[r.Pkg+"\x00"+r.Name] = r
	}
	rows := make([]Row, 0, len(rep.Results))
	for _, r := range rep.Results {
		segs := strings.Split(r.Name, "/")
		row := Row{Result: r, Family: segs[0], Key: strings.Join(segs[1:], "/")}
		for i := 1; i < len(segs); i++ {
			if segs[i] == BaselineSegment {
				row.Variant = BaselineSegment
				break
			}
			alt := append([]string(nil), segs...)
			alt[i] = BaselineSegment
			if b, ok := index[r.Pkg+"\x00"+strings.Join(alt, "/")]; ok {
				row.Variant, row.Baseline = segs[i], b
				break
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// figures lists a result's reported figures other than ns/op, as
// "value unit" in the order the benchmark reported them; one column of them
// keeps the table readable when families report different units.
func figures(r *Result) string {
	var parts []string
	for _, u := range r.Units {
		if u != "ns/op" {
			parts = append(parts, value(r.Metrics, u)+" "+u)
		}
	}
	return strings.Join(parts, ", ")
}

// Render writes the header and the one Markdown table.
func Render(w io.Writer, rep *Report, meta Meta) error {
	cpu := strings.Join(rep.CPUs, "; ")
	if cpu == "" {
		cpu = "unknown"
	}
	platform := strings.Trim(rep.GOOS+"/"+rep.GOARCH, "/")
	lines := []string{
		"# Benchmarks",
		"",
		"- date: " + meta.Date,
		"- go version: " + meta.GoVersion,
		"- cpu: " + cpu,
		fmt.Sprintf("- machine: %s (%s, %d CPUs)", meta.Hostname, platform, meta.NumCPU),
		"",
	}
	table := [][]string{{"package", "benchmark", "ns/op", "figures", "vs baseline"}}
	for _, row := range Rows(rep) {
		name := row.Family
		if row.Key != "" {
			name += "/" + row.Key
		}
		table = append(table, []string{path.Base(row.Pkg), name, value(row.Metrics, "ns/op"), dash(figures(row.Result)), dash(ratios(row))})
	}
	if len(rep.Results) == 0 {
		lines = append(lines, "(no benchmark results)")
	} else {
		lines = append(lines, markdown(table)...)
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}

// ratios compares a row with its baseline on ns/op and every shared unit:
// value / baseline value.
func ratios(row Row) string {
	if row.Baseline == nil {
		return ""
	}
	var parts []string
	for _, u := range row.Units {
		b, ok := row.Baseline.Metrics[u]
		if !ok || b == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %sx", u, strconv.FormatFloat(row.Metrics[u]/b, 'f', 2, 64)))
	}
	return strings.Join(parts, ", ")
}

func value(m map[string]float64, unit string) string {
	v, ok := m[unit]
	if !ok {
		return "-"
	}
	switch a := abs(v); {
	case a >= 100 || a == float64(int64(a)):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// markdown lays out an aligned Markdown table; the first row is the header.
func markdown(rows [][]string) []string {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cells []string) string {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cells {
			b.WriteString(" " + c + strings.Repeat(" ", width[i]-len([]rune(c))) + " |")
		}
		return b.String()
	}
	out := []string{line(rows[0])}
	sep := make([]string, len(width))
	for i, w := range width {
		sep[i] = strings.Repeat("-", w)
	}
	out = append(out, line(sep))
	for _, r := range rows[1:] {
		out = append(out, line(r))
	}
	return out
}
