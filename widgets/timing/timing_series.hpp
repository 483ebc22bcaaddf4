// The timing panel's charts from stored timing rows: the speed-up of one variant over dense, against
// batch size (one line per sparsity) or against sparsity (one line per batch size).
#pragma once

#include "sessions/store/run_store.hpp"
#include "widgets/common/session_history.hpp"

#include <string>
#include <vector>

namespace srigl::studio {

enum class TimingVariant { Condensed, Csr, Structured };
enum class TimingAxis { Batch, Sparsity };

struct TimingLine {
    std::string name; // "90 %" or "batch 64"
    std::vector<CurvePoint> points; // (batch or sparsity, dense_us / variant_us), sorted by x
};

// Rows of other devices than `device`, rows of whole models ("model") and variants that did not
// run (NaN) are left out; repeated cases use the latest row.
std::vector<TimingLine> speedupLines(const std::vector<sessions::TimingRecord>& rows, TimingAxis axis,
                                     TimingVariant variant, const std::string& device = "cpu");
double variantUs(const sessions::TimingRecord& row, TimingVariant variant);

} // namespace srigl::studio
