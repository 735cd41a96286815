package vulngate

import (
	"fmt"
	"io"
	"time"
)

// Result is one target's scan.
type Result struct {
	Target Target
	Scan   Scan
}

// Excepted is a called vulnerability that a current exception covers.
type Excepted struct {
	Vuln      *Vuln
	Exception Exception
}

// TargetReport is the judgement of one target.
type TargetReport struct {
	Target    Target
	GoVersion string
	// Failing are the called vulnerabilities no current exception covers.
	Failing []*Vuln
	// Excepted are the called vulnerabilities a current exception covers.
	Excepted []Excepted
	// Listed are the vulnerabilities in imported but uncalled code or in required modules only.
	Listed []*Vuln
}

// Report is the judgement of every target.
type Report struct {
	Targets []TargetReport
	// Expired are exceptions past their review-by date that a called vulnerability still needs.
	Expired []Exception
	// Unused are exceptions that no called vulnerability needs any more.
	Unused []Exception
}

// Judge sorts each target's findings into failing, excepted and listed ones.
func Judge(results []Result, exceptions []Exception, today time.Time) Report {
	byID := map[string]Exception{}
	for _, e := range exceptions {
		byID[e.ID] = e
	}
	used := map[string]bool{}
	expired := map[string]bool{}
	var rep Report
	for _, r := range results {
		tr := TargetReport{Target: r.Target, GoVersion: r.Scan.GoVersion}
		for _, v := range r.Scan.Vulns {
			if v.Level != Called {
				tr.Listed = append(tr.Listed, v)
				continue
			}
			e, ok := byID[v.ID]
			if !ok {
				tr.Failing = append(tr.Failing, v)
				continue
			}
			used[v.ID] = true
			if e.expired(today) {
				expired[v.ID] = true
				tr.Failing = append(tr.Failing, v)
				continue
			}
			tr.Excepted = append(tr.Excepted, Excepted{Vuln: v, Exception: e})
		}
		rep.Targets = append(rep.Targets, tr)
	}
	for _, e := range exceptions {
		switch {
		case expired[e.ID]:
			rep.Expired = append(rep.Expired, e)
		case !used[e.ID]:
			rep.Unused = append(rep.Unused, e)
		}
	}
	return rep
}

// Failed says whether any target has a called vulnerability without a current exception.
func (r Report) Failed() bool {
	for _, t := range r.Targets {
		if len(t.Failing) > 0 {
			return true
		}
	}
	return false
}

// maxTraces is how many example call paths the report prints per vulnerability and target.
const maxTraces = 3

// Write prints the report: per target every failing vulnerability with its call paths, the
// excepted ones with their reason, the listed ones; then the exceptions to look at again.
func (r Report) Write(w io.Writer) {
	failing, excepted, listed := 0, 0, 0
	for _, t := range r.Targets {
		fmt.Fprintf(w, "%s (%s): %d called, %d excepted, %d imported or required only\n",
			t.Target, t.GoVersion, len(t.Failing), len(t.Excepted), len(t.Listed))
		for _, v := range t.Failing {
			fmt.Fprintf(w, "  FAIL %s\n", describe(v))
			writeTraces(w, v)
		}
		for _, x := range t.Excepted {
			e := x.Exception
			fmt.Fprintf(w, "  excepted %s\n    reviewed %s by %s, holds until %s: %s\n", describe(x.Vuln),
				e.Reviewed.Format(time.DateOnly), e.Reviewer, e.ReviewBy.Format(time.DateOnly), e.Reason)
			writeTraces(w, x.Vuln)
		}
		for _, v := range t.Listed {
			fmt.Fprintf(w, "  %s, not called: %s\n", v.Level, describe(v))
		}
		failing += len(t.Failing)
		excepted += len(t.Excepted)
		listed += len(t.Listed)
	}
	for _, e := range r.Expired {
		fmt.Fprintf(w, "exception %s expired on %s: review it again or fix the code\n", e.ID, e.ReviewBy.Format(time.DateOnly))
	}
	for _, e := range r.Unused {
		fmt.Fprintf(w, "exception %s is not needed by any target: remove it\n", e.ID)
	}
	fmt.Fprintf(w, "%d targets: %d called vulnerabilities fail the gate, %d excepted, %d listed (imported or required only)\n",
		len(r.Targets), failing, excepted, listed)
}

func describe(v *Vuln) string {
	fixed := "no fixed release"
	if v.FixedIn != "" {
		fixed = "fixed in " + v.FixedIn
	}
	return fmt.Sprintf("%s %s@%s (%s): %s", v.ID, v.Module, v.FoundIn, fixed, v.Summary)
}

func writeTraces(w io.Writer, v *Vuln) {
	for i, trace := range v.Traces {
		if i == maxTraces {
			fmt.Fprintf(w, "    ... and %d more call paths\n", len(v.Traces)-maxTraces)
			return
		}
		if len(trace) == 1 {
			fmt.Fprintf(w, "    linked: %s\n", trace[0].Name())
			continue
		}
		fmt.Fprintf(w, "    call path %d:\n", i+1)
		for j := len(trace) - 1; j > 0; j-- {
			fmt.Fprintf(w, "      %s%s calls %s\n", position(trace[j].Position), trace[j].Name(), trace[j-1].Name())
		}
	}
}

func position(p *Position) string {
	if p == nil || p.Filename == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d: ", p.Filename, p.Line, p.Column)
}
