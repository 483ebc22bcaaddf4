// Pictures and videos of recorded masks and weights, drawn by the renderers in sessions/. They exist
// only where OpenCV's image and video writers were found (SRIGL_HAVE_RENDER); elsewhere the command
// stays, and says why it cannot draw.
#include "runs_render.hpp"

#include "sessions/store/run_store.hpp"

#ifdef SRIGL_HAVE_RENDER

#include "output_file.hpp"
#include "printable_text.hpp"

#include "sessions/render/mask_renderer.hpp"
#include "sessions/render/weight_renderer.hpp"
#include "sessions/store/weight_history.hpp"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace srigl::cli {
namespace {

using sessions::RunStore;

bool isVideo(const std::string& out) {
    return out.size() > 4 &&
           (out.compare(out.size() - 4, 4, ".mp4") == 0 || out.compare(out.size() - 4, 4, ".avi") == 0);
}

// The weight heatmap: the snapshot at (or last before) the step, or all of them as a video.
int renderWeightMap(RunStore& store, const RunsOptions& o) {
    const int64_t id = o.ids.at(0);
    sessions::WeightRenderOptions options;
    options.colormap = o.colormap;
    sessions::colormapId(o.colormap); // a bad name fails before any work
    const auto frames = sessions::weightHistory(store, id, o.layer);
    if (isVideo(o.out)) {
        std::vector<LayerWeightSnapshot> weights;
        std::vector<LayerMaskSnapshot> masks;
        for (const auto& f : frames) {
            weights.push_back(f.weights);
            masks.push_back(f.mask);
        }
        sessions::writeWeightVideo(o.out, weights, masks, options);
        std::fprintf(stderr, "wrote %zu frames of %s's weights to %s\n", frames.size(), o.layer.c_str(), o.out.c_str());
        return 0;
    }
    size_t at = frames.size() - 1;
    if (o.step >= 0) {
        at = 0;
        while (at + 1 < frames.size() && frames[at + 1].step <= o.step) ++at;
    }
    const auto image = sessions::renderWeights(frames[at].weights, &frames[at].mask, options);
    sessions::writeImage(o.out, image);
    std::fprintf(stderr, "wrote %s's weights at step %lld (%dx%d) to %s\n", o.layer.c_str(),
                 static_cast<long long>(frames[at].step), image.width, image.height, o.out.c_str());
    return 0;
}

} // namespace

int renderRun(RunStore& store, const RunsOptions& o) {
    // OpenCV opens --out itself and unlinks it when the write fails: a FIFO there hung the command
    // and a device node (as root, /dev/...) was deleted. A regular file is replaced, as before.
    requireOutputFile(o.out, true);
    if (o.what == "weights") return renderWeightMap(store, o);
    if (o.what != "mask") throw sessions::StoreError("--what: expected mask or weights, got '" + o.what + "'");
    const int64_t id = o.ids.at(0);
    const auto records = store.masks(id, o.layer);
    if (records.empty()) {
        // The stored layer names, as the printable text a terminal shows rather than obeys.
        std::string names;
        std::optional<sessions::MaskStatsRecord> statsOnly;
        for (const auto& m : store.maskStats(id)) {
            if (!m.hasMask) {
                if (m.stats.name == o.layer) statsOnly = m;
                continue;
            }
            const std::string name = printableText(m.stats.name);
            if (names.find(" " + name + ",") == std::string::npos) names += " " + name + ",";
        }
        if (statsOnly)
            throw sessions::StoreError("run " + std::to_string(id) + ": layer '" + printableText(o.layer) + "' (" +
                                       std::to_string(statsOnly->stats.outFeatures) + " x " +
                                       std::to_string(statsOnly->stats.fanIn) +
                                       ") was too large to snapshot, even as a sample of its rows: only its statistics were recorded "
                                       "(srigl runs export)");
        throw sessions::StoreError("run " + std::to_string(id) + " has no mask snapshots of layer '" + o.layer +
                                   "' (layers:" + (names.empty() ? " none" : names.substr(0, names.size() - 1)) + ")");
    }
    if (isVideo(o.out)) {
        std::vector<LayerMaskSnapshot> frames;
        for (const auto& r : records) frames.push_back(r.mask);
        sessions::writeMaskVideo(o.out, frames);
        std::fprintf(stderr, "wrote %zu frames of %s to %s\n", frames.size(), o.layer.c_str(), o.out.c_str());
        return 0;
    }
    // The snapshot at (or last before) the step, coloured against the one before it.
    size_t at = records.size() - 1;
    if (o.step >= 0) {
        at = 0;
        while (at + 1 < records.size() && records[at + 1].step <= o.step) ++at;
    }
    const auto image = sessions::renderMask(records[at].mask, at ? &records[at - 1].mask : nullptr);
    sessions::writeImage(o.out, image);
    const LayerMaskSnapshot& drawn = records[at].mask;
    const std::string sample =
        drawn.sampled() ? ", " + everyNth(drawn.rowStride) + " of its " + std::to_string(drawn.layerRows()) + " neurons" : "";
    std::fprintf(stderr, "wrote %s at step %lld (%dx%d%s) to %s\n", o.layer.c_str(),
                 static_cast<long long>(records[at].step), image.width, image.height, sample.c_str(), o.out.c_str());
    return 0;
}

} // namespace srigl::cli

#else // no OpenCV image output

#include "sessions/store/store_error.hpp"

namespace srigl::cli {

int renderRun(sessions::RunStore&, const RunsOptions&) {
    // Refused before --out is touched, so a failed render leaves no file behind.
    throw sessions::StoreError("this build has no OpenCV image output (srigl was built without OpenCV's imgcodecs "
                               "and videoio), so it cannot write pictures or videos; run `srigl runs render` "
                               "from a build with OpenCV, or read the numbers with `srigl runs export`");
}

} // namespace srigl::cli

#endif
