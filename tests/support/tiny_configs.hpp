// Test helper for suites that train: a run small enough to finish in a moment on synthetic data, so
// that each test sets only what it is about (method, optimizer, grid) on top.
#pragma once

#include "engine/config/run_config.hpp"

#include <cstdint>
#include <string>

// 256 synthetic training and 64 test samples through an MLP of `hidden` sizes: batchSize and
// epochs give the number of steps (256 / batchSize per epoch). One thread, since CTest runs suites
// side by side; no dense reference steps, since timing the dense twin only adds time to a test.
inline srigl::RunConfig tinyRunConfig(const std::string& hidden, int64_t batchSize, int64_t epochs) {
    srigl::RunConfig c;
    c.synthetic_train = 256;
    c.synthetic_test = 64;
    c.hidden = hidden;
    c.batch_size = batchSize;
    c.epochs = epochs;
    c.threads = 1;
    c.dense_reference_steps = 0;
    return c;
}
