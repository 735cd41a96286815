// Command vulnerable prints the language tag of its argument through a release of
// golang.org/x/text with a known vulnerability in language.Parse.
package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: vulnerable TAG")
		os.Exit(2)
	}
	tag, err := language.Parse(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(tag)
}
