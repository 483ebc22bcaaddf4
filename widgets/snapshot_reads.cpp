// Queries on the store's own connection (RunStore::database()); decoding through the store's codecs.
#include "widgets/snapshot_reads.hpp"

#include "sessions/mask_codec.hpp"
#include "sessions/weight_codec.hpp"

namespace srigl::studio {

using sessions::Statement;

namespace {

// The weight planes' encoding the store writes (run_store.cpp); anything else is refused.
constexpr const char* kWeightEncoding = "f16-planes-zstd";

sessions::MaskRecord readMask(Statement& st) {
    sessions::MaskRecord m;
    m.step = st.columnInt(0);
    m.mask.name = m.stats.name = st.columnText(1);
    m.mask.outFeatures = m.stats.outFeatures = st.columnInt(2);
    m.mask.fanIn = m.stats.fanIn = st.columnInt(3);
    m.stats.k = st.columnInt(4);
    m.stats.active = st.columnInt(5);
    m.stats.ablated = st.columnInt(6);
    m.stats.pruned = st.columnInt(7);
    m.stats.regrown = st.columnInt(8);
    m.stats.sad = st.columnInt(9);
    m.stats.sparsity = st.columnDouble(10);
    m.mask.ablated = sessions::decodeIds(st.columnBlob(11));
    m.mask.bits = sessions::decompressBytes(st.columnBlob(12), static_cast<size_t>(st.columnInt(13)));
    return m;
}

} // namespace

std::vector<int64_t> maskSteps(sessions::RunStore& store, int64_t runId) {
    Statement st(store.database(), "SELECT DISTINCT step FROM masks WHERE run_id = ? ORDER BY step");
    st.bind(1, runId);
    std::vector<int64_t> steps;
    while (st.step()) steps.push_back(st.columnInt(0));
    return steps;
}

std::vector<std::string> maskLayers(sessions::RunStore& store, int64_t runId) {
    Statement st(store.database(),
                 "SELECT layer FROM masks WHERE run_id = ?1 AND step = (SELECT MIN(step) FROM masks WHERE run_id = ?1) "
                 "ORDER BY rowid");
    st.bind(1, runId);
    std::vector<std::string> layers;
    while (st.step()) layers.push_back(st.columnText(0));
    return layers;
}

LayerAtStep layerAtStep(sessions::RunStore& store, int64_t runId, const std::string& layer, int64_t step) {
    LayerAtStep out;
    out.runId = runId;
    out.requestedStep = step;
    Statement st(store.database(),
                 "SELECT step, layer, out_features, fan_in, k, active, ablated, pruned, regrown, sad, sparsity, "
                 "ablated_ids, bits, bits_size FROM masks WHERE run_id = ? AND layer = ? AND step <= ? "
                 "ORDER BY step DESC LIMIT 2");
    st.bind(1, runId).bind(2, layer).bind(3, step);
    if (!st.step())
        throw sessions::StoreError("run " + std::to_string(runId) + " has no mask of layer '" + layer +
                                   "' at or before step " + std::to_string(step));
    out.current = readMask(st);
    if (st.step()) out.previous = readMask(st);

    Statement w(store.database(), "SELECT count, encoding, data FROM weights WHERE run_id = ? AND layer = ? AND step = ?");
    w.bind(1, runId).bind(2, layer).bind(3, out.current.step);
    if (w.step()) {
        if (w.columnText(1) != kWeightEncoding)
            throw sessions::StoreError("weights of " + layer + " use encoding '" + w.columnText(1) +
                                       "', which this build cannot read");
        out.weights = sessions::decodeWeights(w.columnBlob(2), static_cast<size_t>(w.columnInt(0)));
    }
    return out;
}

} // namespace srigl::studio
