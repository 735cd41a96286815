#include <opencv2/core.hpp>
#include <opencv2/core/cuda.hpp>
#include <opencv2/dnn.hpp>
#include "backend.h"

int edgewatch_cuda_usable(void) {
    try {
        std::vector<cv::dnn::Target> targets = cv::dnn::getAvailableTargets(cv::dnn::DNN_BACKEND_CUDA);
        if (targets.empty()) {
            return 0;
        }
        return cv::cuda::getCudaEnabledDeviceCount() > 0 ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

void edgewatch_set_threads(int n) { cv::setNumThreads(n); }

int edgewatch_get_threads(void) { return cv::getNumThreads(); }
