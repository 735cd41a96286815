package yolo

/*
#cgo pkg-config: opencv4
#cgo CXXFLAGS: -std=c++11
#include <stdlib.h>
#include "backend.h"
*/
import "C"

import (
	"fmt"
	"math"

	"gocv.io/x/gocv"
)

// Backend is where the network runs.
type Backend string

// The backends a caller can ask for.
const (
	// BackendAuto picks CUDA when OpenCV has it and sees a device, else CPU.
	BackendAuto Backend = "auto"
	// BackendCPU runs on the CPU with OpenCV's own backend.
	BackendCPU Backend = "cpu"
	// BackendCUDA runs on an NVIDIA GPU; it needs OpenCV built with CUDA and
	// cuDNN and falls back to CPU when they are missing.
	BackendCUDA Backend = "cuda"
)

// ParseBackend reads a backend name: auto, cpu or cuda (empty = auto).
func ParseBackend(s string) (Backend, error) {
	switch b := Backend(s); b {
	case "":
		return BackendAuto, nil
	case BackendAuto, BackendCPU, BackendCUDA:
		return b, nil
	}
	return "", fmt.Errorf("DNN backend %q: want auto, cpu or cuda", s)
}

// CUDAUsable reports whether this process's OpenCV can run DNN on CUDA:
// it was built with CUDA and cuDNN and sees at least one device.
func CUDAUsable() bool { return C.edgewatch_cuda_usable() == 1 }

// SetThreads sets the number of threads OpenCV uses (cv::setNumThreads);
// n ≤ 0 keeps OpenCV's default; more than a C int holds means as many as it holds.
// gocv v0.31 has no binding for it.
func SetThreads(n int) {
	if n <= 0 {
		return
	}
	if n > math.MaxInt32 {
		n = math.MaxInt32
	}
	C.edgewatch_set_threads(C.int(n))
}

// Threads returns the number of threads OpenCV uses.
func Threads() int { return int(C.edgewatch_get_threads()) }

// resolve picks the backend to use for a request and says why when it
// differs from the request.
func resolve(want Backend, cudaUsable bool) (Backend, string) {
	switch {
	case want == BackendCPU:
		return BackendCPU, ""
	case cudaUsable:
		return BackendCUDA, ""
	case want == BackendCUDA:
		return BackendCPU, "CUDA asked for, but this OpenCV has no CUDA DNN backend or sees no device: running on CPU"
	default:
		return BackendCPU, ""
	}
}

// apply sets the network's preferable backend and target.
func apply(net *gocv.Net, b Backend) error {
	if b == BackendCUDA {
		if err := net.SetPreferableBackend(gocv.NetBackendCUDA); err != nil {
			return err
		}
		return net.SetPreferableTarget(gocv.NetTargetCUDA)
	}
	if err := net.SetPreferableBackend(gocv.NetBackendOpenCV); err != nil {
		return err
	}
	return net.SetPreferableTarget(gocv.NetTargetCPU)
}
