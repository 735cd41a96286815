package functions

import (
	"fmt"
	"strings"
)

// The markers around the generated function table in a Markdown file.
const (
	BeginMarker = "<!-- functions table: generated from internal/functions/functions.txt by go generate ./internal/functions; DO NOT EDIT. -->"
	EndMarker   = "<!-- end of functions table -->"
)

// Default ports of edgewatch up, to show in the docs.
const (
	defaultFirstPort   = 8081
	defaultMetricsPort = 9400
)

// Markdown returns the table of fs as Markdown, with edgewatch up's default
// ports.
func Markdown(fs []Function) string {
	var b strings.Builder
	b.WriteString("| function | module | what it does | kind | local port | metrics port | OpenCV | runs | image |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range fs {
		kind := "CloudEvents"
		if f.Kind == HTTP {
			kind = "HTTP"
		}
		opencv := "no"
		if f.OpenCV {
			opencv = "yes (gocv)"
		}
		runs := map[Role]string{Service: "always up", ScaleToZero: "scales to zero", Source: "event source, always up"}[f.Role]
		image := "`func build` (host builder)"
		if f.Image != FuncBuild {
			image = fmt.Sprintf("`%s/%s`", f.Dir(), f.Image)
		}
		if f.GPUImage != "" {
			image += fmt.Sprintf("; GPU overlays: `%s` from `%s/%s`", f.GPUImage, f.Dir(), f.GPUDockerfile)
		}
		fmt.Fprintf(&b, "| `%s` | `…/%s` | %s | %s | %d | %d | %s | %s | %s |\n",
			f.Name, f.Dir(), f.Summary, kind, defaultFirstPort+f.Port, defaultMetricsPort+f.Metrics, opencv, runs, image)
	}
	return b.String()
}

// ReplaceSection returns doc with what lies between BeginMarker and
// EndMarker replaced by section.
func ReplaceSection(doc, section string) (string, error) {
	begin := strings.Index(doc, BeginMarker)
	end := strings.Index(doc, EndMarker)
	if begin < 0 || end < begin {
		return "", fmt.Errorf("no %q … %q section", BeginMarker, EndMarker)
	}
	start := begin + len(BeginMarker)
	return doc[:start] + "\n" + section + doc[end:], nil
}
