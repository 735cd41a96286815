package vulngate

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// scannerFromEnv is the govulncheck and database that hack/vulncheck.sh built.
func scannerFromEnv(t *testing.T) Scanner {
	t.Helper()
	bin, db := os.Getenv("EDGEWATCH_GOVULNCHECK"), os.Getenv("EDGEWATCH_VULNDB")
	if bin == "" || db == "" {
		t.Skip("EDGEWATCH_GOVULNCHECK and EDGEWATCH_VULNDB are not set; run hack/vulncheck.sh (make vulncheck)")
	}
	return Scanner{Govulncheck: bin, DB: db}
}

// TestGateFailsOnCalledVulnerability scans testdata/vulnerable, which calls language.Parse of
// golang.org/x/text v0.3.6 (GO-2021-0113) and imports, without calling, its
// ParseAcceptLanguage (GO-2022-1059): the first must fail the gate with its call path, the second
// must only be listed, and a current exception must let the first pass while an expired one must not.
func TestGateFailsOnCalledVulnerability(t *testing.T) {
	s := scannerFromEnv(t)
	target := Target{Mode: "source", Path: "testdata/vulnerable"}
	scan, err := s.Scan(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	results := []Result{{Target: target, Scan: scan}}

	rep := Judge(results, nil, today)
	var out strings.Builder
	rep.Write(&out)
	t.Log("\n" + out.String())
	if !rep.Failed() {
		t.Fatal("the gate passed a module that calls language.Parse of golang.org/x/text v0.3.6")
	}
	tr := rep.Targets[0]
	called := find(tr.Failing, "GO-2021-0113")
	if called == nil {
		t.Fatalf("GO-2021-0113 is not among the failing vulnerabilities %v", ids(tr.Failing))
	}
	for _, want := range []string{"FAIL GO-2021-0113 golang.org/x/text@v0.3.6 (fixed in v0.3.7)", "vulnerable.main calls language.Parse"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report does not say %q", want)
		}
	}
	if find(tr.Failing, "GO-2022-1059") != nil {
		t.Error("GO-2022-1059 (ParseAcceptLanguage, never called) fails the gate")
	}
	if v := find(tr.Listed, "GO-2022-1059"); v == nil || v.Level != Imported {
		t.Errorf("GO-2022-1059 is not listed as imported: %+v", v)
	}

	current := Exception{ID: "GO-2021-0113", Reviewed: today.AddDate(0, 0, -1), ReviewBy: today.AddDate(0, 0, 29), Reviewer: "test", Reason: "test"}
	if rep := Judge(results, []Exception{current}, today); rep.Failed() {
		t.Error("a current exception for GO-2021-0113 did not let the gate pass")
	}
	old := current
	old.Reviewed, old.ReviewBy = today.AddDate(0, 0, -40), today.AddDate(0, 0, -1)
	rep = Judge(results, []Exception{old}, today)
	if !rep.Failed() || len(rep.Expired) != 1 {
		t.Errorf("an expired exception let the gate pass or was not reported: failed=%v expired=%v", rep.Failed(), rep.Expired)
	}
}

func find(vs []*Vuln, id string) *Vuln {
	for _, v := range vs {
		if v.ID == id {
			return v
		}
	}
	return nil
}

func ids(vs []*Vuln) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out
}
