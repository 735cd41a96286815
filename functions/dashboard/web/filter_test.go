package web

import (
	"slices"
	"strings"
	"testing"
)

func TestParseFilterTakesTheContractsClasses(t *testing.T) {
	f, err := ParseFilter(map[string][]string{"class": {"fire, gun", "knife"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Classes, []string{"fire", "gun", "knife"}) {
		t.Errorf("classes = %v", f.Classes)
	}
	_, err = ParseFilter(map[string][]string{"class": {"flood"}})
	if err == nil || !strings.Contains(err.Error(), `"flood" is not accident, fire, gun or knife`) {
		t.Errorf("error = %v", err)
	}
}

func TestParseFilterRefusesABadCamera(t *testing.T) {
	if _, err := ParseFilter(map[string][]string{"camera": {"gate-1"}}); err != nil {
		t.Errorf("gate-1: %v", err)
	}
	if _, err := ParseFilter(map[string][]string{"camera": {"-gate"}}); err == nil {
		t.Error("no error for a camera id starting with '-'")
	}
}
