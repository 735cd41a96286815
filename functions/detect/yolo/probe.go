package yolo

/*
#cgo pkg-config: opencv4
#cgo CXXFLAGS: -std=c++11
#include <stdlib.h>
#include "probe.h"
*/
import "C"

import (
	"errors"
	"strings"
	"unsafe"
)

// ProbeONNX loads an ONNX model in OpenCV and runs one forward pass on a
// zero image of height×width to the named output, catching OpenCV's C++
// exceptions, and returns the output's dims. The file must have passed
// onnx.Read: the probe survives what OpenCV throws, not a malformed file
// that makes it crash outright.
func ProbeONNX(path string, height, width int, output string) ([]int, error) {
	cPath, cOut := C.CString(path), C.CString(output)
	defer C.free(unsafe.Pointer(cPath))
	defer C.free(unsafe.Pointer(cOut))
	var dims [8]C.int
	var n C.int
	msg := make([]byte, 2048)
	rc := C.edgewatch_onnx_probe(cPath, C.int(height), C.int(width), cOut, &dims[0], C.int(len(dims)), &n,
		(*C.char)(unsafe.Pointer(&msg[0])), C.int(len(msg)))
	if rc != 0 {
		s, _, _ := strings.Cut(string(msg), "\x00")
		return nil, errors.New(strings.TrimSpace(s))
	}
	out := make([]int, int(n))
	for i := range out {
		out[i] = int(dims[i])
	}
	return out, nil
}
