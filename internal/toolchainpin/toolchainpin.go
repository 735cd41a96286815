// Package toolchainpin checks that every build path of the repository names the one Go toolchain
// that hack/versions.env pins: the toolchain line of the workspace file (edgewatch.work) and of every go.mod, the GOTOOLCHAIN
// build environment of every function that func builds on the host, and the Go of every
// Dockerfile's build stage.
package toolchainpin

import (
	"bufio"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// VersionsFile holds the pins, relative to the repository root.
const VersionsFile = "hack/versions.env"

// Pinned reads GO_TOOLCHAIN from the versions file, e.g. go1.26.11.
func Pinned(fsys fs.FS) (string, error) {
	f, err := fsys.Open(VersionsFile)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "GO_TOOLCHAIN="); ok && v != "" {
			return v, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s sets no GO_TOOLCHAIN", VersionsFile)
}

var (
	toolchainLine = regexp.MustCompile(`(?m)^toolchain[ \t]+(\S+)`)
	golangImage   = regexp.MustCompile(`(?m)^FROM[ \t]+golang:([^\s@-]+)`)
	goVersionArg  = regexp.MustCompile(`(?m)^ARG[ \t]+GO_VERSION=(\S+)`)
)

// Check returns one line for each build path that names another toolchain than the pinned one
// or none at all. Directories named testdata, .git and .func are skipped.
func Check(fsys fs.FS) ([]string, error) {
	pin, err := Pinned(fsys)
	if err != nil {
		return nil, err
	}
	var problems []string
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testdata", ".git", ".func":
				return fs.SkipDir
			}
			return nil
		}
		name := path.Base(p)
		var check func(string, string) []string
		switch {
		case name == "go.mod" || strings.HasSuffix(name, ".work"):
			check = checkGoMod
		case name == "func.yaml":
			check = checkFuncYAML
		case strings.HasPrefix(name, "Dockerfile"):
			check = checkDockerfile
		default:
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		for _, msg := range check(string(data), pin) {
			problems = append(problems, p+": "+msg)
		}
		return nil
	})
	return problems, err
}

func checkGoMod(data, pin string) []string {
	m := toolchainLine.FindStringSubmatch(data)
	if m == nil {
		return []string{"no toolchain line; want toolchain " + pin}
	}
	if m[1] != pin {
		return []string{fmt.Sprintf("toolchain %s; want %s", m[1], pin)}
	}
	return nil
}

// funcYAML is the part of a func.yaml that decides how func builds the function.
type funcYAML struct {
	Build struct {
		Builder   string `json:"builder"`
		BuildEnvs []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"buildEnvs"`
	} `json:"build"`
}

// checkFuncYAML checks functions that func builds on the host: the host's go command would
// otherwise build them with whatever Go the machine has.
func checkFuncYAML(data, pin string) []string {
	var f funcYAML
	if err := yaml.Unmarshal([]byte(data), &f); err != nil {
		return []string{err.Error()}
	}
	if f.Build.Builder != "host" {
		return nil
	}
	for _, e := range f.Build.BuildEnvs {
		if e.Name == "GOTOOLCHAIN" {
			if e.Value != pin {
				return []string{fmt.Sprintf("build.buildEnvs GOTOOLCHAIN=%s; want %s", e.Value, pin)}
			}
			return nil
		}
	}
	return []string{"the host builder without build.buildEnvs GOTOOLCHAIN=" + pin}
}

func checkDockerfile(data, pin string) []string {
	want := strings.TrimPrefix(pin, "go")
	var problems []string
	for _, m := range golangImage.FindAllStringSubmatch(data, -1) {
		if m[1] != want {
			problems = append(problems, fmt.Sprintf("FROM golang:%s; want golang:%s", m[1], want))
		}
	}
	for _, m := range goVersionArg.FindAllStringSubmatch(data, -1) {
		if m[1] != want {
			problems = append(problems, fmt.Sprintf("ARG GO_VERSION=%s; want %s", m[1], want))
		}
	}
	return problems
}
