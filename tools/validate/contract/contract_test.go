package contract

import (
	"slices"
	"strings"
	"testing"
)

// TestEdgewatchTable checks the generated table against what CheckTriggers
// assumes of it: exact types, sorted and unique, and a detection type for
// each class and a class for each detection type.
func TestEdgewatchTable(t *testing.T) {
	c := Edgewatch()
	if len(c.Types) == 0 || len(c.Classes) == 0 {
		t.Fatalf("empty table: %+v", c)
	}
	if !slices.IsSorted(c.Types) || len(slices.Compact(slices.Clone(c.Types))) != len(c.Types) {
		t.Errorf("types are not sorted and unique: %v", c.Types)
	}
	for _, class := range c.Classes {
		if !c.HasType("dev.edgewatch.detection." + class) {
			t.Errorf("class %q has no detection type", class)
		}
	}
	for _, typ := range c.Types {
		if class, ok := strings.CutPrefix(typ, "dev.edgewatch.detection."); ok && !c.HasClass(class) {
			t.Errorf("type %q names no class", typ)
		}
	}
	for _, typ := range c.External {
		if !c.HasType(typ) {
			t.Errorf("external type %q is not a type of the contract", typ)
		}
	}
}
