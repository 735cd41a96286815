package contractgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree copies internal/contract's hand-written files into a repository of
// one function module, edits them with the given replacements (file,
// old, new) and returns its root.
func tree(t *testing.T, edits ...[3]string) string {
	t.Helper()
	root := t.TempDir()
	files := append(sourceFiles(), "schemas/detection.schema.json", "schemas/incident.schema.json", "schemas/caption.schema.json")
	for _, name := range files {
		raw, err := os.ReadFile(filepath.Join(repoRoot, "internal", "contract", filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		for _, e := range edits {
			if e[0] == name {
				if !strings.Contains(text, e[1]) {
					t.Fatalf("%s holds no %q", name, e[1])
				}
				text = strings.ReplaceAll(text, e[1], e[2])
			}
		}
		write(t, filepath.Join(root, "internal", "contract", filepath.FromSlash(name)), text)
	}
	write(t, filepath.Join(root, "functions", "f", "go.mod"), "module example.com/f\n")
	return root
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// withClass adds a class "flood" the way docs/events.md says to.
func withClass() [][3]string {
	edits := [][3]string{
		{"contract.go", `"gun", "knife"}`, `"gun", "knife", "flood"}`},
		{"contract.go", "\tTypeIncidentOpened = ", "\tTypeDetectionFlood = \"dev.edgewatch.detection.flood\"\n\tTypeIncidentOpened = "},
	}
	for _, s := range []string{"detection", "incident", "caption"} {
		edits = append(edits, [3]string{"schemas/" + s + ".schema.json", `"gun", "knife"]`, `"gun", "knife", "flood"]`})
	}
	return edits
}

func TestAddingAClassReachesEveryCopy(t *testing.T) {
	files, err := Files(tree(t, withClass()...))
	if err != nil {
		t.Fatal(err)
	}
	copied := string(files["functions/f/internal/contract/contract_gen.go"])
	if !strings.Contains(copied, `"gun", "knife", "flood"}`) || !strings.Contains(copied, `"dev.edgewatch.detection.flood"`) {
		t.Errorf("the function's copy lacks the new class:\n%s", copied)
	}
	table := string(files["tools/validate/contract/table_gen.go"])
	if !strings.Contains(table, `"dev.edgewatch.detection.flood"`) || !strings.Contains(table, `"gun", "knife", "flood"}`) {
		t.Errorf("the validator's table lacks the new class:\n%s", table)
	}
}

func TestDisagreeingContractIsRefused(t *testing.T) {
	all := withClass()
	cases := map[string][][3]string{
		"class without its type":       {all[0], all[2], all[3], all[4]},
		"class missing from a schema":  {all[0], all[1], all[2], all[3]},
		"type without its class":       {all[1]},
		"schemas disagree on a limit":  {{"schemas/caption.schema.json", `"maxLength": 256}`, `"maxLength": 255}`}},
		"copied file imports a module": {{"payload.go", `import "time"`, "import (\n\t\"time\"\n\n\t_ \"github.com/santhosh-tekuri/jsonschema/v6\"\n)"}},
	}
	for name, edits := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Files(tree(t, edits...)); err == nil {
				t.Error("no error")
			} else {
				t.Log(err)
			}
		})
	}
}
