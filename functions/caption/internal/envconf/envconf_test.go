package envconf

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

type sample struct {
	Name    string        `env:"NAME" envDefault:"edgewatch"`
	Size    int           `env:"SIZE" envDefault:"1"`
	Wait    time.Duration `env:"WAIT" envDefault:"1s"`
	On      bool          `env:"ON"`
	Ratio   float64       `env:"RATIO"`
	Colours colours       `env:"COLOURS"`
}

type colours []string

func parseColours(v string) (any, error) {
	if v == "blue" {
		return nil, errIs("not a colour this sample knows")
	}
	return colours(strings.Split(v, ",")), nil
}

type errIs string

func (e errIs) Error() string { return string(e) }

func TestParseDefaultsAndBlankValues(t *testing.T) {
	var s sample
	err := Parse(&s, map[string]string{"NAME": "  ", "SIZE": " 4294967296 ", "COLOURS": "red,green"},
		Parsers{reflect.TypeOf(colours{}): parseColours})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "edgewatch" || s.Size != 4294967296 || s.Wait != time.Second || len(s.Colours) != 2 {
		t.Errorf("parsed %+v", s)
	}
}

func TestParseReportsEveryBadKey(t *testing.T) {
	var s sample
	err := Parse(&s, map[string]string{"SIZE": "big", "WAIT": "soon", "ON": "maybe", "RATIO": "half", "COLOURS": "blue"},
		Parsers{reflect.TypeOf(colours{}): parseColours})
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, want := range []string{`SIZE="big": not a whole number`, `WAIT="soon": not a duration such as 30s`,
		`ON="maybe": not true or false`, `RATIO="half": not a number`, `COLOURS="blue": not a colour this sample knows`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %s", err, want)
		}
	}
}

func TestChecksReportEveryProblem(t *testing.T) {
	var p Problems
	Positive(&p, "WAIT", time.Duration(0))
	InRange(&p, "SIZE", 11, 1, 10)
	Positive(&p, "RATIO", 0.5)
	InRange(&p, "LEVEL", 3, 1, 10)
	err := p.Err()
	if err == nil || !strings.Contains(err.Error(), `WAIT="0s": must be more than 0`) ||
		!strings.Contains(err.Error(), `SIZE="11": must be from 1 to 10`) || strings.Contains(err.Error(), "RATIO") ||
		strings.Contains(err.Error(), "LEVEL") {
		t.Fatalf("problems: %v", err)
	}
}
