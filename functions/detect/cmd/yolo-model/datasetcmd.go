package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/dataset"
)

func datasetCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return errors.New("dataset: want yolo-model dataset check DIR [--names FILE] [--valid 0.1] [--seed N]")
	}
	fs := flag.NewFlagSet("dataset check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	names := fs.String("names", "", "class names, one a line (default DIR/obj.names)")
	valid := fs.Float64("valid", 0.1, "fraction of the images held out for validation, 0 ≤ f < 1")
	seed := fs.Uint64("seed", 1, "shuffle seed (the same seed gives the same split)")
	dir, err := parseWithDir(fs, args[1:])
	if err != nil {
		return err
	}
	if *names == "" {
		*names = filepath.Join(dir, "obj.names")
	}
	labels, err := darknet.ReadNames(*names)
	if err != nil {
		return fmt.Errorf("dataset check: %w (give --names FILE)", err)
	}
	if len(labels) == 0 {
		return fmt.Errorf("dataset check: %s has no class names", *names)
	}
	ds, err := dataset.Read(dir, len(labels))
	if err != nil {
		return err
	}
	if err := ds.CheckImages(); err != nil {
		return err
	}
	train, validation, err := ds.Split(*valid, *seed)
	if err != nil {
		return fmt.Errorf("dataset check: %w", err)
	}
	lists, err := ds.WriteLists(train, validation, labels)
	if err != nil {
		return fmt.Errorf("dataset check: %w", err)
	}
	perClass := make([]int, len(labels))
	background := 0
	for _, it := range ds.Items {
		if len(it.Boxes) == 0 {
			background++
		}
		for _, b := range it.Boxes {
			perClass[b.Class]++
		}
	}
	fmt.Fprintf(stdout, "%s: %d images (%d without objects), %d objects\n", dir, len(ds.Items), background, ds.Boxes())
	for i, l := range labels {
		fmt.Fprintf(stdout, "  %-16s %d objects\n", l, perClass[i])
	}
	fmt.Fprintf(stdout, "wrote %s (%d images), %s (%d images), %s, %s, %s\n",
		lists.Train, len(train), lists.Valid, len(validation), lists.Names, lists.Data, lists.YAML)
	return nil
}

// parseWithDir parses flags given before or after one directory argument
// and returns the directory.
func parseWithDir(fs *flag.FlagSet, args []string) (string, error) {
	var dir string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	switch {
	case dir == "" && fs.NArg() == 1:
		dir = fs.Arg(0)
	case dir == "" || fs.NArg() != 0:
		return "", fmt.Errorf("%s: want one dataset directory", fs.Name())
	}
	return dir, nil
}
