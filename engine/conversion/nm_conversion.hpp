// Conversion of a trained model (dense or unstructured sparse) to N:M or transposable N:M without
// training (docs/algorithms.md, "Converting a trained model to N:M"): stage 1 magnitude mask, stage 2 mean
// absorption, stage 3 per-layer least-squares reconstruction on calibration data (linear and
// convolution layers), stage 4 batch-norm re-estimation, with the test accuracy after each stage.
// Layers whose fan-in is not a multiple of M are converted as if padded with zero weights, the rule
// training uses (nm_mask.hpp): a trailing group of r < M inputs keeps min(N, r).
#pragma once

#include "engine/models/sparse_model.hpp"
#include "engine/conversion/layer_reconstruction.hpp"
#include "engine/nm/nm_pattern.hpp"

#include <functional>
#include <string>
#include <vector>

namespace srigl::nm {

struct ConversionOptions {
    NmPattern pattern;
    bool transposable = false;
    bool exactSolver = true; // transposable: optimal tiles; else greedy with repair
    bool absorbMean = true;
    bool reconstruct = true;
    bool reestimateBatchNorm = true;
    std::vector<std::string> skipLayers; // left exactly as they are (e.g. a classifier of 10 inputs)
    int threads = 0;                     // transposable tile threads
    ReconstructionOptions reconstruction;
};

struct ConversionStage {
    std::string name;     // original, mask, absorb, reconstruct, batch_norm
    bool applied = true;  // false: turned off or not applicable (then the accuracy is the previous stage's)
    std::string note;     // why not applied, or what was done
    double testAccuracy = 0;
    // || logits - original logits ||^2 / || original logits ||^2 on the calibration set.
    double logitError = 0;
    bool masksValid = true; // every converted layer's mask is valid N:M (and transposable when asked)
    double seconds = 0;
};

struct ConvertedLayer {
    std::string name;
    std::vector<int64_t> shape;
    bool converted = false;     // false: skipped
    bool reconstructed = false; // refit in stage 3
    bool iterative = false;     // some rows refit by conjugate gradient (ReconstructionOptions::maxDirect)
    int64_t iterations = 0;     // conjugate gradient: iterations of the slowest row
    double relativeResidual = 0; // conjugate gradient: largest relative residual left
    double densityBefore = 1;   // fraction of non-zero weights in the original layer
    double keptMagnitude = 0;   // sum |w| kept by the mask / sum |w| before
    double errorBefore = 0;     // reconstruction: calibration output error before / after stage 3
    double errorAfter = 0;
    double log10Diversity = 0;  // of the N:M (or transposable) structure of this layer
};

struct ConversionReport {
    std::vector<ConversionStage> stages;
    std::vector<ConvertedLayer> layers;
    int batchNorms = 0;
};

// (stage name, finished stages, total stages) before each stage starts.
using ConversionProgress = std::function<void(const std::string& stage, int done, int total)>;

// Throws ConfigError("skip", ...) for a skipped layer the model does not have, or when every layer
// is skipped.
void checkConvertible(SparseModelImpl& model, const ConversionOptions& options);

// Converts the model in place (CPU, eval mode). calibration: normalised input batches (at least
// one); evaluate: the model's test accuracy in [0, 1]. Every converted layer's mask is checked
// after every stage; an invalid mask throws std::logic_error (a bug, never a user error).
ConversionReport convertToNm(SparseModelImpl& model, const std::vector<torch::Tensor>& calibration,
                             const std::function<double()>& evaluate, const ConversionOptions& options,
                             const ConversionProgress& progress = {});

} // namespace srigl::nm
