#ifndef EDGEWATCH_YOLO_PROBE_H
#define EDGEWATCH_YOLO_PROBE_H
#ifdef __cplusplus
extern "C" {
#endif

// edgewatch_onnx_probe reads the ONNX model at path with OpenCV, feeds a
// zero 1×3×height×width blob and runs a forward pass to the layer named
// output, all inside a C++ try block. On success it stores the output's
// dims (at most max_dims) in dims and their count in n_dims and returns 0;
// on failure it writes OpenCV's message into err (err_len bytes) and
// returns -1. OpenCV's exceptions cannot cross into Go: uncaught, they end
// the process.
int edgewatch_onnx_probe(const char* path, int height, int width, const char* output,
                         int* dims, int max_dims, int* n_dims, char* err, int err_len);

#ifdef __cplusplus
}
#endif
#endif
