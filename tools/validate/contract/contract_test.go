package contract

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLoadRealContract(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "..", "internal", "contract", "contract.go"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"dev.edgewatch.caption.created", "dev.edgewatch.detection.accident", "dev.edgewatch.detection.fire",
		"dev.edgewatch.detection.gun", "dev.edgewatch.detection.knife", "dev.edgewatch.incident.closed",
		"dev.edgewatch.incident.opened", "dev.edgewatch.incident.updated",
		"dev.edgewatch.motion.detected",
	}
	if !reflect.DeepEqual(c.Types, want) {
		t.Errorf("types = %v, want %v", c.Types, want)
	}
	if !reflect.DeepEqual(c.External, []string{"dev.edgewatch.incident.updated", "dev.edgewatch.incident.closed"}) {
		t.Errorf("external types = %v", c.External)
	}
	if !reflect.DeepEqual(c.Classes, []string{"accident", "fire", "gun", "knife"}) {
		t.Errorf("classes = %v", c.Classes)
	}
}

func TestLoadNeedsTypes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.go")
	if err := os.WriteFile(p, []byte("package c\n\nconst Prefix = \"dev.x.\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil {
		t.Error("no error for a file without Type constants")
	}
}
