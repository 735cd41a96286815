package main

import "github.com/edgewatch/edgewatch/functions/detect/yolo"

// loadONNX loads an ONNX export for eval through detect's own loader, with
// the same structure checks, guarded probe and output-layout detection that
// detect's Start runs.
func loadONNX(onnxPath, namesPath string, opts yolo.Options) (model, error) {
	net, err := yolo.LoadONNX(onnxPath, namesPath, opts)
	if err != nil {
		return nil, err
	}
	return net, nil
}
