package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGeneratePatternPrintsSettingsThatCheck(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"generate", "--kind", "pattern", "--dir", dir}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "MODEL_CFG="+filepath.Join(dir, "pattern.cfg")) || !strings.Contains(errOut.String(), "NOT a trained detector") {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
	out.Reset()
	code := run(context.Background(), []string{"check", "--cfg", filepath.Join(dir, "pattern.cfg"),
		"--weights", filepath.Join(dir, "pattern.weights"), "--names", filepath.Join(dir, "pattern.names")}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "4 classes") {
		t.Fatalf("check: exit %d, %q", code, out.String())
	}
}

func TestGenerateONNXPatternPrintsSettingsThatCheck(t *testing.T) {
	for kind, layout := range map[string]string{"pattern-onnx-v5": "yolov5", "pattern-onnx-v8": "yolov8"} {
		dir := t.TempDir()
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"generate", "--kind", kind, "--dir", dir}, &out, &errOut); code != 0 {
			t.Fatalf("%s: exit %d: %s", kind, code, errOut.String())
		}
		model := filepath.Join(dir, strings.Replace(kind, "-onnx", "", 1)+".onnx")
		if !strings.Contains(out.String(), "MODEL_ONNX="+model) || !strings.Contains(out.String(), layout+" output layout") ||
			!strings.Contains(errOut.String(), "NOT a trained detector") {
			t.Fatalf("%s: stdout %q stderr %q", kind, out.String(), errOut.String())
		}
		out.Reset()
		code := run(context.Background(), []string{"check", "--onnx", model, "--names", filepath.Join(dir, "pattern.names")}, &out, &errOut)
		if code != 0 || !strings.Contains(out.String(), "4 classes, input 640x640") {
			t.Fatalf("%s: check: exit %d, %q", kind, code, out.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"check", "--onnx", "m.onnx", "--cfg", "m.cfg", "--names", "m.names"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "cannot be combined") {
		t.Fatalf("check with both formats: exit %d, %q", code, errOut.String())
	}
}

func TestFetchFromAMirrorVerifiesAndChecks(t *testing.T) {
	// A local mirror serves generated official-layout tiny files under the official names.
	src := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"generate", "--kind", "tiny", "--dir", src}, &out, &errOut); code != 0 {
		t.Fatalf("generate: %s", errOut.String())
	}
	serve := map[string]string{
		"yolov4-tiny.cfg":     filepath.Join(src, "yolov4-tiny.cfg"),
		"yolov4-tiny.weights": filepath.Join(src, "yolov4-tiny.weights"),
		"coco.names":          filepath.Join(src, "yolov4-tiny.names"),
	}
	var pins []string
	for name, path := range serve {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		pins = append(pins, "--pin", fmt.Sprintf("%s=%d:%s", name, len(data), hex.EncodeToString(sum[:])))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := serve[strings.TrimPrefix(r.URL.Path, "/m/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, path)
	}))
	defer srv.Close()

	dst := t.TempDir()
	out.Reset()
	args := append([]string{"fetch", "--kind", "tiny", "--dir", dst, "--mirror", srv.URL + "/m"}, pins...)
	if code := run(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("fetch: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "MODEL_WEIGHTS="+filepath.Join(dst, "yolov4-tiny.weights")) || !strings.Contains(out.String(), "80 classes") {
		t.Fatalf("fetch printed %q", out.String())
	}

	// With the official pins the mirror's (generated) cfg does not match: refused, nothing kept.
	errOut.Reset()
	dst2 := t.TempDir()
	if code := run(context.Background(), []string{"fetch", "--kind", "tiny", "--dir", dst2, "--mirror", srv.URL + "/m"}, &out, &errOut); code == 0 {
		t.Fatal("fetch accepted files that do not match the official pins")
	}
	if !strings.Contains(errOut.String(), "pin") {
		t.Fatalf("stderr %q", errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dst2, "yolov4-tiny.cfg")); !os.IsNotExist(err) {
		t.Fatal("an unverified file was kept")
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"generate", "--kind", "yolov9"}, {"fetch", "--kind", "huge"},
		{"fetch", "--pin", "x=1:abc"}, {"fetch", "--dir", t.TempDir(), "--pin", "other.bin=1:" + strings.Repeat("a", 64)}} {
		if code := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); code == 0 {
			t.Errorf("%v succeeded", args)
		}
	}
}
