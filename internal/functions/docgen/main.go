// Command docgen writes the function table of internal/functions into the
// Markdown files it is given, between the table's markers.
//
//	go run ./internal/functions/docgen docs/architecture.md
package main

import (
	"fmt"
	"os"

	"github.com/edgewatch/edgewatch/internal/functions"
)

func main() {
	for _, path := range os.Args[1:] {
		if err := rewrite(path); err != nil {
			fmt.Fprintln(os.Stderr, "docgen:", err)
			os.Exit(1)
		}
	}
}

// rewrite replaces path's function table with the current one.
func rewrite(path string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := functions.ReplaceSection(string(doc), functions.Markdown(functions.All()))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(out), 0o644)
}
