// Iterative solve of many masked least-squares rows at once: row i minimises
// 1/2 w^T (H + lambda I) w - g_i . w over the entries its mask keeps (the others stay zero), the
// normal equations (H_SS + lambda I) w_S = g_S of layer_reconstruction.hpp without gathering a
// [k, k] block per row. Preconditioned (Jacobi) conjugate gradient, batched: one iteration is one
// GEMM of the block of rows with the whole [in', in'] Gram matrix, masked afterwards, so memory is a
// few [rows, in'] matrices whatever k is, and the cost is iterations * rows * in'^2.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace srigl::nm {

struct RowConjugateGradientOptions {
    // Stop a row when ||D^-1/2 (g_S - A w_S)|| <= tolerance * ||D^-1/2 g_S||, D the diagonal of A:
    // the relative residual of the diagonally scaled system.
    double tolerance = 1e-6;
    // On ResNet-18's largest layers (2304 of 4608 inputs kept, 64 calibration samples: a system
    // that only the ridge makes definite) 50 iterations take the calibration error from about 1e9
    // to 1e5, while the largest residual of the 512 rows creeps along near 1e-3; each iteration
    // costs one [512, 4608] x [4608, 4608] GEMM (about 0.5 s on 2 cores).
    int64_t maxIterations = 50;
};

struct RowConjugateGradientResult {
    int64_t iterations = 0;       // iterations of the slowest row
    double maxRelativeResidual = 0; // over the rows, at the end (scaled as the tolerance)
    int64_t rowsConverged = 0;    // rows that reached the tolerance
};

// h [c, c] symmetric positive semi-definite (double), keep bool [r, c], rhs [r, c] (g, entries
// outside keep ignored), rows [r, c]: the start (warm start: the current weights; entries outside
// keep ignored), replaced by the solution (zero outside keep). lambda > 0 keeps every system
// positive definite. Throws std::invalid_argument on mismatched shapes.
RowConjugateGradientResult solveRowsByConjugateGradient(const torch::Tensor& h, const torch::Tensor& keep,
                                                        const torch::Tensor& rhs, double lambda, torch::Tensor& rows,
                                                        const RowConjugateGradientOptions& options = {});

} // namespace srigl::nm
