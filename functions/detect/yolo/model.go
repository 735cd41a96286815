package yolo

import (
	"image"

	"gocv.io/x/gocv"
)

// Model is a loaded detector, whatever its file format: a darknet network
// (Load) or an ONNX export (LoadONNX). A Model is not safe for concurrent
// use: one Detect at a time (package batch serialises callers).
type Model interface {
	// InputSize returns the network input size in pixels.
	InputSize() image.Point
	// Labels returns the model's labels in class order.
	Labels() []string
	// Backend returns the backend the network runs on.
	Backend() Backend
	// BackendNote explains a fallback from the backend asked for ("" if none).
	BackendNote() string
	// Warmup runs one forward pass so that the first request does not pay
	// for OpenCV's allocations.
	Warmup() error
	// Detect runs a batch of BGR images (any sizes) and returns each
	// image's detections in its own pixel coordinates, most confident
	// first, after per-class non-maximum suppression.
	Detect(imgs []gocv.Mat) ([][]Detection, error)
	// Close releases the network.
	Close() error
}

// Both formats are Models.
var (
	_ Model = (*Net)(nil)
	_ Model = (*ONNXNet)(nil)
)
