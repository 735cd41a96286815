package triggers

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseISODuration parses an ISO-8601 duration such as PT0.2S, PT10S, PT1M30S
// or P1DT2H, the format Knative uses for backoffDelay and timeout. Weeks,
// days, hours, minutes and (fractional) seconds are accepted; years and
// months have no fixed length and are refused, as are negative durations.
func ParseISODuration(s string) (time.Duration, error) {
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, fmt.Errorf("%q is not an ISO-8601 duration (want e.g. PT0.2S, PT10S, PT1M)", s)
	}
	rest := s[1:]
	inTime := false
	seen := map[string]bool{}
	var total float64
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, fmt.Errorf("%q: 'T' appears twice", s)
			}
			inTime = true
			rest = rest[1:]
			if rest == "" {
				return 0, fmt.Errorf("%q: nothing after 'T'", s)
			}
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == ',') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("%q: expected a number followed by a unit", s)
		}
		num, err := strconv.ParseFloat(strings.ReplaceAll(rest[:i], ",", "."), 64)
		if err != nil {
			return 0, fmt.Errorf("%q: bad number %q", s, rest[:i])
		}
		unit := string(rest[i])
		key := unit
		if inTime {
			key = "T" + unit
		}
		if seen[key] {
			return 0, fmt.Errorf("%q: unit %s appears twice", s, unit)
		}
		seen[key] = true
		var scale float64
		switch {
		case !inTime && unit == "W":
			scale = float64(7 * 24 * time.Hour)
		case !inTime && unit == "D":
			scale = float64(24 * time.Hour)
		case !inTime && (unit == "Y" || unit == "M"):
			return 0, fmt.Errorf("%q: years and months have no fixed length; use days or smaller units", s)
		case inTime && unit == "H":
			scale = float64(time.Hour)
		case inTime && unit == "M":
			scale = float64(time.Minute)
		case inTime && unit == "S":
			scale = float64(time.Second)
		default:
			return 0, fmt.Errorf("%q: unknown unit %q", s, unit)
		}
		total += num * scale
		rest = rest[i+1:]
	}
	if total > math.MaxInt64 {
		return 0, fmt.Errorf("%q: duration too long", s)
	}
	return time.Duration(math.Round(total)), nil
}
