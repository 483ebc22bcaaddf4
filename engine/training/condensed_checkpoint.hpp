// Condensed layers in checkpoints (docs/sparse_training.md): a layer that trains condensed is written
// as its values, indices and alive rows under "condensed.<i>." (i: the layer's place among the
// model's sparse layers), never in its dense [out, fan_in] form. Read here by the trainer (a resume
// on either path) and by the readers that need the trained model (export, convert, bench --run).
#pragma once

#include "engine/models/condensed_weights.hpp"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace srigl {

// The keys' prefix for sparse layer i: "condensed.<i>.".
std::string condensedKey(size_t i);
// Whether the archive holds sparse layer i in the condensed layout.
bool holdsCondensed(torch::serialize::InputArchive& archive, size_t i);

// Writes the form (values, indices, alive rows), the layer's name, which readers compare with the
// model's, and its weight's shape (what a script needs to expand it without the model).
void writeCondensedForm(torch::serialize::OutputArchive& archive, size_t i, const std::string& name,
                        const std::vector<int64_t>& shape, const CondensedWeights& c);

// Reads sparse layer i of a model whose layer `name` is [out, fanIn] (fan-in of a convolution: in
// channels x kernel area). Throws CheckpointError naming `path` and the layer when the shapes, types
// or name do not fit, or the form fails checkCondensedForm.
CondensedWeights readCondensedForm(torch::serialize::InputArchive& archive, size_t i, const std::string& name,
                                   int64_t out, int64_t fanIn, const std::string& path);

// What every user of a condensed form relies on: finite values, alive rows 0 or 1, zeros in ablated
// rows, and each row's indices strictly ascending inside [0, fan_in). A CheckpointError ("... is
// corrupt: <name> ...") otherwise.
void checkCondensedForm(const CondensedWeights& c, const std::string& name, const std::string& path);

} // namespace srigl
