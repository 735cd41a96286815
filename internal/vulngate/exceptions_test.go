package vulngate

import (
	"strings"
	"testing"
	"time"
)

func TestParseExceptions(t *testing.T) {
	list := `# ID REVIEWED REVIEW-BY REVIEWER REASON
GO-2026-0001 2026-12-01 2027-01-15 security@example.org no release fixes it; the parser only reads our own files

GO-2026-0002 2026-12-02 2026-12-31 security@example.org second
`
	got, err := ParseExceptions(strings.NewReader(list))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d exceptions, want 2", len(got))
	}
	e := got[0]
	if e.ID != "GO-2026-0001" || e.Reviewer != "security@example.org" ||
		e.Reason != "no release fixes it; the parser only reads our own files" ||
		e.Reviewed.Format(time.DateOnly) != "2026-12-01" || e.ReviewBy.Format(time.DateOnly) != "2027-01-15" {
		t.Errorf("parsed %+v", e)
	}
	if e.expired(time.Date(2027, 1, 15, 23, 59, 0, 0, time.UTC)) {
		t.Error("expired on its review-by day")
	}
	if !e.expired(time.Date(2027, 1, 16, 0, 0, 1, 0, time.UTC)) {
		t.Error("still holds the day after its review-by day")
	}
}

func TestParseExceptionsRefusesBadLines(t *testing.T) {
	for name, line := range map[string]string{
		"no reason":          "GO-2026-0001 2026-12-01 2027-01-01 someone",
		"not an advisory":    "CVE-2026-1 2026-12-01 2027-01-01 someone reason",
		"bad review date":    "GO-2026-0001 2026-13-01 2027-01-01 someone reason",
		"bad review-by date": "GO-2026-0001 2026-12-01 01/01/2027 someone reason",
		"review-by before":   "GO-2026-0001 2026-12-01 2026-11-30 someone reason",
		"more than 90 days":  "GO-2026-0001 2026-12-01 2027-03-02 someone reason",
		"listed twice":       "GO-2026-0001 2026-12-01 2027-01-01 a reason\nGO-2026-0001 2026-12-01 2027-01-01 b reason",
	} {
		if _, err := ParseExceptions(strings.NewReader(line)); err == nil {
			t.Errorf("%s: parsed without an error", name)
		}
	}
}

func TestJudgeSortsExceptions(t *testing.T) {
	today := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	called := func(id string) *Vuln { return &Vuln{ID: id, Level: Called} }
	scan := Scan{Vulns: []*Vuln{called("GO-2026-0001"), called("GO-2026-0002"), called("GO-2026-0003"), {ID: "GO-2026-0004", Level: Imported}}}
	exc := func(id string, reviewBy time.Time) Exception {
		return Exception{ID: id, Reviewed: reviewBy.AddDate(0, 0, -30), ReviewBy: reviewBy}
	}
	rep := Judge([]Result{{Scan: scan}}, []Exception{
		exc("GO-2026-0001", today.AddDate(0, 0, 10)), // holds
		exc("GO-2026-0002", today.AddDate(0, 0, -1)), // expired
		exc("GO-2026-0004", today.AddDate(0, 0, 10)), // not called: not needed
		exc("GO-2026-0009", today.AddDate(0, 0, 10)), // not found at all
	}, today)
	tr := rep.Targets[0]
	if got := ids(tr.Failing); strings.Join(got, ",") != "GO-2026-0002,GO-2026-0003" {
		t.Errorf("failing %v, want GO-2026-0002 (expired) and GO-2026-0003", got)
	}
	if len(tr.Excepted) != 1 || tr.Excepted[0].Vuln.ID != "GO-2026-0001" {
		t.Errorf("excepted %+v, want GO-2026-0001", tr.Excepted)
	}
	if len(rep.Expired) != 1 || rep.Expired[0].ID != "GO-2026-0002" {
		t.Errorf("expired %+v, want GO-2026-0002", rep.Expired)
	}
	if len(rep.Unused) != 2 || rep.Unused[0].ID != "GO-2026-0004" || rep.Unused[1].ID != "GO-2026-0009" {
		t.Errorf("unused %+v, want GO-2026-0004 and GO-2026-0009", rep.Unused)
	}
	if !rep.Failed() {
		t.Error("the gate passed with GO-2026-0002 and GO-2026-0003 failing")
	}
}
