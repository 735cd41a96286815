package main

import (
	"fmt"
	"io"
	"strings"
)

// banner prints where everything listens.
func banner(w io.Writer, lines [][2]string, notes []string) {
	width := 0
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	fmt.Fprintln(w, strings.Repeat("─", 72))
	fmt.Fprintln(w, " edgewatch is running — Ctrl-C stops it")
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l[0], l[1])
	}
	for _, n := range notes {
		fmt.Fprintln(w, "  ! "+n)
	}
	fmt.Fprintln(w, strings.Repeat("─", 72))
}
