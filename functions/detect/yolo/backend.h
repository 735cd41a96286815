#ifndef EDGEWATCH_YOLO_BACKEND_H
#define EDGEWATCH_YOLO_BACKEND_H
#ifdef __cplusplus
extern "C" {
#endif

// edgewatch_cuda_usable returns 1 when OpenCV's DNN module was built with
// CUDA and sees at least one CUDA device, else 0.
int edgewatch_cuda_usable(void);

// edgewatch_set_threads sets OpenCV's worker thread count (cv::setNumThreads).
void edgewatch_set_threads(int n);

// edgewatch_get_threads returns OpenCV's worker thread count.
int edgewatch_get_threads(void);

#ifdef __cplusplus
}
#endif
#endif
