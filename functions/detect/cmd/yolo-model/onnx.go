package main

import (
	"errors"

	"github.com/edgewatch/edgewatch/functions/detect/yolo"
)

// loadONNX loads an ONNX model for eval. This build has no ONNX loader in
// package yolo yet, so it refuses with a clear error; the loader's arrival
// replaces this body and nothing else.
func loadONNX(onnxPath, namesPath string, opts yolo.Options) (model, error) {
	return nil, errors.New("ONNX models need detect's ONNX loader (yolo.LoadONNX), which this build does not have yet: evaluate a darknet model with --cfg, --weights and --names")
}
