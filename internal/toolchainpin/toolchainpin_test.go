package toolchainpin

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

func TestRepositoryBuildsWithOneToolchain(t *testing.T) {
	problems, err := Check(os.DirFS("../.."))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func TestCheckFindsEveryOtherToolchain(t *testing.T) {
	fsys := fstest.MapFS{
		VersionsFile:               {Data: []byte("# pins\nGO_TOOLCHAIN=go1.26.11\n")},
		"edgewatch.work":           {Data: []byte("go 1.26\n\ntoolchain go1.26.11\n")},
		"go.mod":                   {Data: []byte("module a\n\ngo 1.26\n\ntoolchain go1.26.8\n")},
		"b/go.mod":                 {Data: []byte("module b\n\ngo 1.26\n")},
		"b/testdata/x/go.mod":      {Data: []byte("module x\n\ngo 1.26\n")},
		"fn/host/func.yaml":        {Data: []byte("name: host\nbuild:\n  builder: host\n")},
		"fn/old/func.yaml":         {Data: []byte("name: old\nbuild:\n  builder: host\n  buildEnvs:\n    - name: GOTOOLCHAIN\n      value: go1.26.8\n")},
		"fn/ok/func.yaml":          {Data: []byte("name: ok\nbuild:\n  builder: host\n  buildEnvs:\n    - name: GOTOOLCHAIN\n      value: go1.26.11\n")},
		"fn/pack/func.yaml":        {Data: []byte("name: pack\nbuild:\n  builder: pack\n")},
		"img/Dockerfile":           {Data: []byte("FROM golang:1.26-bookworm AS build\nFROM debian:bookworm-slim\n")},
		"img/Dockerfile.cuda":      {Data: []byte("FROM nvidia/cuda AS build\nARG GO_VERSION=1.26.8\n")},
		"img/ok/Dockerfile":        {Data: []byte("FROM golang:1.26.11-bookworm AS build\n")},
		"img/no-go/Dockerfile.ops": {Data: []byte("FROM debian:bookworm-slim\n")},
	}
	problems, err := Check(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"b/go.mod: no toolchain line; want toolchain go1.26.11",
		"fn/host/func.yaml: the host builder without build.buildEnvs GOTOOLCHAIN=go1.26.11",
		"fn/old/func.yaml: build.buildEnvs GOTOOLCHAIN=go1.26.8; want go1.26.11",
		"go.mod: toolchain go1.26.8; want go1.26.11",
		"img/Dockerfile: FROM golang:1.26; want golang:1.26.11",
		"img/Dockerfile.cuda: ARG GO_VERSION=1.26.8; want 1.26.11",
	}
	if got := strings.Join(problems, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestPinnedNeedsTheVersionsFile(t *testing.T) {
	if _, err := Pinned(fstest.MapFS{VersionsFile: {Data: []byte("GOVULNCHECK_VERSION=v1.9.0\n")}}); err == nil {
		t.Error("a versions file without GO_TOOLCHAIN gave a pin")
	}
	if _, err := Pinned(fstest.MapFS{}); err == nil {
		t.Error("a missing versions file gave a pin")
	}
}
