#include <cstdio>
#include <exception>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include "probe.h"

int edgewatch_onnx_probe(const char* path, int height, int width, const char* output,
                         int* dims, int max_dims, int* n_dims, char* err, int err_len) {
    try {
        cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
        if (net.empty()) {
            std::snprintf(err, err_len, "OpenCV read an empty network");
            return -1;
        }
        net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        int size[] = {1, 3, height, width};
        cv::Mat blob(4, size, CV_32F, cv::Scalar(0));
        net.setInput(blob);
        cv::Mat out = net.forward(output);
        if (out.dims > max_dims) {
            std::snprintf(err, err_len, "output has %d dims", out.dims);
            return -1;
        }
        *n_dims = out.dims;
        for (int i = 0; i < out.dims; i++) {
            dims[i] = out.size[i];
        }
        return 0;
    } catch (const std::exception& e) {
        std::snprintf(err, err_len, "%s", e.what());
    } catch (...) {
        std::snprintf(err, err_len, "unknown C++ exception");
    }
    return -1;
}
