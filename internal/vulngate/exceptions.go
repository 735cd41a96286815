package vulngate

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Exception is a reviewed decision to ship with a called vulnerability that has no released fix.
type Exception struct {
	ID       string
	Reviewed time.Time
	// ReviewBy is the last day the exception holds; from the day after, the gate fails again.
	ReviewBy time.Time
	Reviewer string
	Reason   string
}

// maxExceptionDays is the longest an exception may hold after its review.
const maxExceptionDays = 90

var advisoryID = regexp.MustCompile(`^GO-[0-9]{4}-[0-9]+$`)

// ParseExceptions reads the exception list: one exception a line, as
//
//	ID REVIEWED REVIEW-BY REVIEWER REASON...
//
// with the dates as YYYY-MM-DD; blank lines and lines starting with # are skipped.
func ParseExceptions(r io.Reader) ([]Exception, error) {
	var out []Exception
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := parseException(line)
		if err != nil {
			return nil, fmt.Errorf("exception line %d: %w", n, err)
		}
		if seen[e.ID] {
			return nil, fmt.Errorf("exception line %d: %s is listed twice", n, e.ID)
		}
		seen[e.ID] = true
		out = append(out, e)
	}
	return out, sc.Err()
}

func parseException(line string) (Exception, error) {
	f := strings.Fields(line)
	if len(f) < 5 {
		return Exception{}, fmt.Errorf("want ID REVIEWED REVIEW-BY REVIEWER REASON, got %q", line)
	}
	if !advisoryID.MatchString(f[0]) {
		return Exception{}, fmt.Errorf("%q is not an advisory ID like GO-2026-1234", f[0])
	}
	reviewed, err := time.Parse(time.DateOnly, f[1])
	if err != nil {
		return Exception{}, fmt.Errorf("review date: %w", err)
	}
	reviewBy, err := time.Parse(time.DateOnly, f[2])
	if err != nil {
		return Exception{}, fmt.Errorf("review-by date: %w", err)
	}
	if !reviewBy.After(reviewed) || reviewBy.Sub(reviewed) > maxExceptionDays*24*time.Hour {
		return Exception{}, fmt.Errorf("%s: review-by %s must fall within %d days after the review %s",
			f[0], f[2], maxExceptionDays, f[1])
	}
	return Exception{ID: f[0], Reviewed: reviewed, ReviewBy: reviewBy, Reviewer: f[3], Reason: strings.Join(f[4:], " ")}, nil
}

// expired says whether the exception no longer holds on the given day.
func (e Exception) expired(today time.Time) bool {
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	return day.After(e.ReviewBy)
}
