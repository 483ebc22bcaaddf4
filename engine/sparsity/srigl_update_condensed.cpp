// SRigL on the condensed form, with the dense gradient streamed in row blocks (see the header). Every
// choice mirrors sriglUpdateCpu: the same selections over the same values in the same order, so that
// ties fall the same way (tests/engine/test_srigl_update_condensed.cpp checks it).
#include "engine/sparsity/srigl_update_condensed.hpp"

#include "engine/runtime/worker_pool.hpp"
#include "engine/sparsity/select_largest.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

namespace srigl {
namespace {

// |g| as an integer with the same order (non-negative floats order like their bits).
inline uint32_t absKey(float g) {
    const float a = std::fabs(g);
    uint32_t u;
    std::memcpy(&u, &a, sizeof u);
    return u;
}

// The bin of `hist` (bins of keys, the highest last) that holds the count-th largest key, and how many
// of the `count` largest lie in it (the others lie in higher bins).
struct NthBin {
    uint32_t bin;
    int64_t needInBin;
};
NthBin nthBin(const std::vector<int64_t>& hist, int64_t count) {
    int64_t above = 0;
    uint32_t bin = static_cast<uint32_t>(hist.size() - 1);
    for (; bin > 0; --bin) {
        if (above + hist[bin] >= count) break;
        above += hist[bin];
    }
    return {bin, count - above};
}

// Adds the keys >> 16 of n gradient entries to `hist` (65536 bins), split over the worker pool.
void addKeyHistogram(const float* g, int64_t n, std::vector<int64_t>& hist) {
    std::mutex joinMutex;
    parallelFor(0, n, int64_t{1} << 16, [&](int64_t begin, int64_t end) {
        std::vector<int64_t> local(65536, 0);
        for (int64_t i = begin; i < end; ++i) ++local[absKey(g[i]) >> 16];
        std::lock_guard<std::mutex> lock(joinMutex);
        for (size_t b = 0; b < local.size(); ++b) hist[b] += local[b];
    });
}

// Among the keys of that bin: the need-th largest, and how many keys equal to it are taken (the
// first ones in the entries' order, as selectLargest takes ties by index). Reorders `keys`.
struct BinThreshold {
    uint32_t key;
    int64_t ties;
};
BinThreshold thresholdInBin(std::vector<uint32_t>& keys, int64_t need) {
    std::nth_element(keys.begin(), keys.begin() + (need - 1), keys.end(), std::greater<uint32_t>());
    const uint32_t threshold = keys[static_cast<size_t>(need - 1)];
    int64_t ties = need;
    for (uint32_t key : keys) ties -= key > threshold;
    return {threshold, ties};
}

// A row's `count` largest |grad| as (key, input) in ascending input order: the first entries of the
// order growth selects in (|grad| descending, ties by index, as selectLargest breaks them). `hist`
// holds the row's histogram of key >> 20 (2048 bins: |grad| has no sign bit). One pass gathers the
// entries of the bins from the one where the count is reached up (a few more than `count`); the edge
// bin is then resolved exactly among them.
struct RowCandidateScratch {
    std::vector<std::pair<uint32_t, uint32_t>> top; // (key, input), input order
    std::vector<uint32_t> edge;                     // keys of the edge bin
};
void rowCandidates(const float* g, int64_t fanIn, const std::vector<int64_t>& hist, int64_t count,
                   RowCandidateScratch& t, uint32_t* keys, uint32_t* inputs) {
    const auto [bin, needInBin] = nthBin(hist, count);
    t.top.clear();
    t.edge.clear();
    for (int64_t j = 0; j < fanIn; ++j) {
        const uint32_t key = absKey(g[j]);
        if (key >> 20 < bin) continue;
        t.top.emplace_back(key, static_cast<uint32_t>(j));
        if (key >> 20 == bin) t.edge.push_back(key);
    }
    auto [threshold, ties] = thresholdInBin(t.edge, needInBin);
    int64_t c = 0;
    for (const auto& [key, j] : t.top) {
        // Keys of higher bins exceed the threshold, which lies in the edge bin.
        bool take = key > threshold;
        if (!take && key == threshold && ties > 0) {
            take = true;
            --ties;
        }
        if (!take) continue;
        keys[c] = key;
        inputs[c++] = j;
    }
}

// A gradient entry inside the salience window: its key, and its row << 1 | whether the row kept it.
struct WindowEntry {
    uint32_t key;
    uint32_t rowKept;
};

// What a salience pass found: per row, the entries above the window that the row did not keep; the
// entries inside it in row-major order; every entry above it, kept ones included.
struct Salience {
    std::vector<int64_t> above;
    std::vector<WindowEntry> inWindow;
    int64_t aboveAll = 0;
    bool overflow = false; // the window held more entries than allowed; inWindow is empty
};

// Keys lo..hi (inclusive) of |grad|.
struct KeyWindow {
    uint32_t lo, hi;
};

// A window of keys likely to hold the layer's nPrune-th largest |grad|, guessed from a sample of rows
// spread over the layer (32 ranges of up to 32 rows: about 1/64 of a large layer): the keys whose rank
// in the sample is half and twice the expected one, widened to whole bins of key >> 16. Only a guess
// (rows differ in scale): the salience pass checks it against the whole layer.
KeyWindow guessWindow(const GradientRows& gradient, int64_t out, int64_t fanIn, int64_t nPrune, int64_t& sampledRows) {
    const int64_t ranges = std::min<int64_t>(32, out);
    const int64_t perRange = std::clamp<int64_t>(out / (64 * ranges), 1, 32);
    std::vector<int64_t> hist(65536, 0);
    std::vector<float> rows(static_cast<size_t>(perRange * fanIn));
    for (int64_t i = 0; i < ranges; ++i) {
        const int64_t r0 = std::clamp<int64_t>((2 * i + 1) * out / (2 * ranges) - perRange / 2, 0, out - perRange);
        gradient(r0, r0 + perRange, rows.data());
        addKeyHistogram(rows.data(), perRange * fanIn, hist);
    }
    sampledRows = ranges * perRange;
    const int64_t total = sampledRows * fanIn;
    const double expected = static_cast<double>(nPrune) / static_cast<double>(out * fanIn) * static_cast<double>(total);
    const auto rankHi = static_cast<int64_t>(std::floor(expected / 2));
    const auto rankLo = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(expected * 2)), 1, total);
    KeyWindow w;
    w.hi = rankHi < 1 ? std::numeric_limits<uint32_t>::max() : nthBin(hist, rankHi).bin << 16 | 0xFFFFu;
    w.lo = nthBin(hist, rankLo).bin << 16;
    return w;
}

// The gradient, block by block in row order; a layer that fits one block is computed once.
class RowBlocks {
public:
    RowBlocks(const GradientRows& gradient, int64_t out, int64_t fanIn, int64_t blockRows)
        : gradient_(gradient), out_(out), fanIn_(fanIn), blockRows_(std::max<int64_t>(1, std::min(blockRows, out))) {}

    // How many times the whole gradient was computed.
    int64_t passes() const { return passes_; }

    template <typename F>
    void forEach(F&& f) {
        if (blockRows_ >= out_) {
            if (!cached_) {
                buffer_.resize(static_cast<size_t>(out_ * fanIn_));
                gradient_(0, out_, buffer_.data());
                cached_ = true;
                ++passes_;
            }
            f(int64_t{0}, out_, buffer_.data());
            return;
        }
        buffer_.resize(static_cast<size_t>(blockRows_ * fanIn_));
        ++passes_;
        for (int64_t r0 = 0; r0 < out_; r0 += blockRows_) {
            const int64_t r1 = std::min(out_, r0 + blockRows_);
            gradient_(r0, r1, buffer_.data());
            f(r0, r1, static_cast<const float*>(buffer_.data()));
        }
    }

private:
    const GradientRows& gradient_;
    int64_t out_, fanIn_, blockRows_;
    bool cached_ = false;
    int64_t passes_ = 0;
    std::vector<float> buffer_;
};

} // namespace

CondensedMaskUpdate sriglUpdateCondensed(const torch::Tensor& values, const torch::Tensor& indices,
                                         const torch::Tensor& alive, int64_t fanIn, const GradientRows& gradient,
                                         double dropFraction, const SriglParams& params, int64_t blockRows,
                                         int64_t growthCandidates) {
    torch::NoGradGuard noGrad;
    const auto v = values.detach().to(torch::kCPU, torch::kFloat).contiguous();
    const auto ix = indices.to(torch::kCPU, torch::kLong).contiguous();
    const auto al = alive.to(torch::kCPU, torch::kBool).contiguous();
    const int64_t out = v.size(0), k0 = v.size(1), m = out * k0;
    const float* vp = v.data_ptr<float>();
    const int64_t* ip = ix.data_ptr<int64_t>();
    const bool* ap = al.data_ptr<bool>();

    // |W| of the kept weights in slot order (= the dense order: slots ascend with the input index);
    // -1 for ablated rows, which hold no connection.
    std::vector<float> absW(static_cast<size_t>(m));
    int64_t nnz = 0;
    for (int64_t r = 0; r < out; ++r) {
        for (int64_t s = 0; s < k0; ++s) absW[r * k0 + s] = ap[r] ? std::fabs(vp[r * k0 + s]) : -1.0f;
        nnz += ap[r] ? k0 : 0;
    }
    const int64_t nPrune = static_cast<int64_t>(std::floor(static_cast<double>(nnz) * dropFraction));
    const int64_t nKeep = nnz - nPrune;
    std::vector<uint32_t> scratch;
    std::unique_ptr<bool[]> keepW(new bool[static_cast<size_t>(m)]());
    selectLargest(absW.data(), m, nKeep, keepW.get(), scratch);
    RowBlocks blocks(gradient, out, fanIn, blockRows);

    // Growth candidates, kept by the counts pass: each row's `cand` largest |grad| (rowCandidates). A
    // row grows its k - kept largest among the inputs it did not keep, and at most `kept` of its
    // candidates are kept ones, so whenever k <= cand its candidates hold the answer and growth needs
    // no further pass over the gradient. Even a cached gradient gains: growth over the candidates
    // selects among 1.5 k + 8 entries a row instead of all fan_in (4096 x 4096 at 99%, one thread: the
    // whole update 152 -> 112 ms).
    int64_t cand = growthCandidates >= 0 ? std::min(fanIn, growthCandidates) : std::min(fanIn, k0 + k0 / 2 + 8);
    if (growthCandidates < 0 && out * cand * 8 > (int64_t{1} << 30)) cand = 0; // at most 1 GiB
    std::vector<uint32_t> candKeys, candInputs;
    int64_t sampledRows = 0;

    // Ablation: per row, the connections kept by |W| plus those among the layer's nPrune largest
    // |grad| (the union, each counted once).
    std::vector<uint8_t> ablated(static_cast<size_t>(out), 0);
    if (params.allowAblation && params.gammaSal > 0.0) {
        std::vector<int64_t> counts(static_cast<size_t>(out), 0);
        for (int64_t i = 0; i < m; ++i) counts[static_cast<size_t>(i / k0)] += keepW[i];
        const int64_t n = out * fanIn;
        auto markRow = [&](std::vector<uint8_t>& rowKeep, int64_t r, uint8_t mark) {
            if (!ap[r]) return;
            for (int64_t s = 0; s < k0; ++s)
                if (keepW[r * k0 + s]) rowKeep[static_cast<size_t>(ip[r * k0 + s])] = mark;
        };
        if (nPrune >= n) {
            for (int64_t r = 0; r < out; ++r) counts[static_cast<size_t>(r)] = fanIn;
            cand = 0;
        } else if (nPrune > 0) {
            // The nPrune-th largest |grad| without holding the gradient. The salience pass (below)
            // counts, per row, the entries above a window of keys it did not keep, and gathers the
            // entries inside the window; if the layer's nPrune-th largest lies in it, the window's
            // entries give its exact key, and ties with it count in index order, as selectLargest
            // decides them. The window is first guessed from a sample of rows, so that one pass
            // usually does everything (counts and growth candidates); when the guess misses, a
            // histogram pass over the top 16 bits of the keys finds the bin that holds it and a
            // second salience pass uses that bin. (A cached gradient once went straight to the
            // histogram; at 4096 x 4096 that pass cost more than the guess's sampled rows.)
            candKeys.resize(static_cast<size_t>(out * cand));
            candInputs.resize(static_cast<size_t>(out * cand));
            bool candidatesKept = cand == 0;
            // Both passes split rows over the worker pool (a layer beyond memory has billions of
            // entries): private counts and entries, joined in row order.
            auto salience = [&](uint32_t lo, uint32_t hi, int64_t cap, bool keepCandidates) {
                Salience s;
                s.above.assign(static_cast<size_t>(out), 0);
                std::vector<std::pair<int64_t, std::vector<WindowEntry>>> parts; // (first row, entries)
                std::mutex joinMutex;
                std::atomic<int64_t> held{0};
                std::atomic<bool> overflow{false};
                blocks.forEach([&](int64_t r0, int64_t r1, const float* g) {
                    parallelFor(r0, r1, 1, [&](int64_t begin, int64_t end) {
                        std::vector<uint8_t> rowKeep(static_cast<size_t>(fanIn), 0);
                        std::vector<WindowEntry> found;
                        // The row's histogram in four interleaved copies: neighbouring entries
                        // often share a bin, and one copy would make every increment wait for the
                        // previous one (a store-to-load chain that took most of this loop's time).
                        std::vector<uint32_t> quad(keepCandidates ? 4 * 2048 : 0);
                        std::vector<int64_t> rowHist(keepCandidates ? 2048 : 0);
                        RowCandidateScratch scratch;
                        int64_t aboveAll = 0;
                        // Locals, not the captures: `found` grows in the loop, and the compiler must
                        // otherwise reload every captured reference after each push.
                        const uint32_t winLo = lo, winHi = hi;
                        uint32_t* const h = quad.data();
                        for (int64_t r = begin; r < end; ++r) {
                            markRow(rowKeep, r, 1);
                            const float* gr = g + (r - r0) * fanIn;
                            const uint8_t* kp = rowKeep.data();
                            const size_t before = found.size();
                            int64_t above = 0, aboveRow = 0;
                            if (keepCandidates) std::fill(quad.begin(), quad.end(), 0u);
                            for (int64_t j = 0; j < fanIn; ++j) {
                                const uint32_t key = absKey(gr[j]);
                                if (keepCandidates) ++h[(j & 3) * 2048 + (key >> 20)];
                                if (key < winLo) continue;
                                if (key > winHi) {
                                    ++aboveRow;
                                    above += kp[j] ? 0 : 1;
                                } else {
                                    found.push_back({key, static_cast<uint32_t>(r) << 1 | kp[j]});
                                }
                            }
                            aboveAll += aboveRow;
                            s.above[static_cast<size_t>(r)] = above;
                            markRow(rowKeep, r, 0);
                            if (keepCandidates) {
                                for (size_t b = 0; b < 2048; ++b)
                                    rowHist[b] = int64_t{h[b]} + h[2048 + b] + h[4096 + b] + h[6144 + b];
                                rowCandidates(gr, fanIn, rowHist, cand, scratch, candKeys.data() + r * cand,
                                              candInputs.data() + r * cand);
                            }
                            // A window that holds too many entries is given up (the pass still keeps
                            // the candidates); the histogram's bin then bounds what is held.
                            const auto added = static_cast<int64_t>(found.size() - before);
                            if (!overflow.load(std::memory_order_relaxed) && held.fetch_add(added) + added > cap)
                                overflow = true;
                            if (overflow.load(std::memory_order_relaxed)) std::vector<WindowEntry>().swap(found);
                        }
                        std::lock_guard<std::mutex> lock(joinMutex);
                        parts.emplace_back(begin, std::move(found));
                        s.aboveAll += aboveAll;
                    });
                });
                s.overflow = overflow;
                if (s.overflow) return s;
                std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
                s.inWindow.reserve(static_cast<size_t>(held.load()));
                for (auto& part : parts) s.inWindow.insert(s.inWindow.end(), part.second.begin(), part.second.end());
                return s;
            };
            // Adds the salient connections a row did not keep to its count, if the window holds the
            // layer's nPrune-th largest |grad|; false (and nothing added) if it does not.
            auto resolve = [&](const Salience& s) {
                const int64_t needInWindow = nPrune - s.aboveAll;
                if (s.overflow || needInWindow < 1 || needInWindow > static_cast<int64_t>(s.inWindow.size()))
                    return false;
                std::vector<uint32_t> keys(s.inWindow.size());
                for (size_t i = 0; i < keys.size(); ++i) keys[i] = s.inWindow[i].key;
                auto [threshold, ties] = thresholdInBin(keys, needInWindow);
                for (int64_t r = 0; r < out; ++r) counts[static_cast<size_t>(r)] += s.above[static_cast<size_t>(r)];
                for (const WindowEntry& e : s.inWindow) {
                    bool salient = e.key > threshold;
                    if (!salient && e.key == threshold && ties > 0) {
                        salient = true;
                        --ties;
                    }
                    if (salient && !(e.rowKept & 1u)) ++counts[static_cast<size_t>(e.rowKept >> 1)];
                }
                return true;
            };
            bool resolved = false;
            {
                const KeyWindow guess = guessWindow(gradient, out, fanIn, nPrune, sampledRows);
                // At most 4x the expected share of entries, and 256 MiB of them.
                const int64_t cap = std::min<int64_t>(4 * nPrune + 65536, int64_t{1} << 25);
                resolved = resolve(salience(guess.lo, guess.hi, cap, !candidatesKept));
                candidatesKept = true;
            }
            if (!resolved) {
                std::vector<int64_t> hist(65536, 0);
                blocks.forEach([&](int64_t r0, int64_t r1, const float* g) { addKeyHistogram(g, (r1 - r0) * fanIn, hist); });
                const uint32_t bin = nthBin(hist, nPrune).bin;
                const bool ok = resolve(salience(bin << 16, bin << 16 | 0xFFFFu, std::numeric_limits<int64_t>::max(),
                                                 !candidatesKept));
                if (!ok) throw std::logic_error("sriglUpdateCondensed: the histogram's bin lost the salience threshold");
            }
        } else {
            cand = 0;
        }
        ablated = sriglAblatedNeurons(counts, params, fanIn);
    } else {
        cand = 0;
    }
    sriglForceAblation(ablated, params, fanIn);
    int64_t nAblated = 0;
    for (auto a : ablated) nAblated += a;
    const int64_t k = sriglFanIn(params.budget, out - nAblated, fanIn);

    // Prune: top-nKeep |W| outside ablated rows.
    const bool* keep = keepW.get();
    std::unique_ptr<bool[]> keepAlive;
    if (nAblated > 0) {
        int64_t eligible = 0;
        for (int64_t r = 0; r < out; ++r) {
            if (!ablated[static_cast<size_t>(r)]) {
                eligible += ap[r] ? k0 : 0;
                continue;
            }
            std::fill(absW.begin() + r * k0, absW.begin() + (r + 1) * k0, -1.0f);
        }
        keepAlive.reset(new bool[static_cast<size_t>(m)]());
        selectLargest(absW.data(), m, std::min(nKeep, eligible), keepAlive.get(), scratch);
        keep = keepAlive.get();
    }

    // Per row: cut back to the k largest |W| kept (on the row's k0 slots).
    std::unique_ptr<bool[]> chosen(new bool[static_cast<size_t>(m)]());
    std::vector<int64_t> need(static_cast<size_t>(out), 0);
    {
        std::vector<float> rowScore(static_cast<size_t>(k0));
        for (int64_t r = 0; r < out; ++r) {
            if (ablated[static_cast<size_t>(r)]) continue;
            int64_t kept = 0;
            for (int64_t s = 0; s < k0; ++s) kept += keep[r * k0 + s];
            if (kept > k) {
                for (int64_t s = 0; s < k0; ++s) rowScore[static_cast<size_t>(s)] = keep[r * k0 + s] ? absW[r * k0 + s] : -1.0f;
                selectLargest(rowScore.data(), k0, k, chosen.get() + r * k0, scratch);
                kept = k;
            } else {
                std::copy(keep + r * k0, keep + (r + 1) * k0, chosen.get() + r * k0);
            }
            need[static_cast<size_t>(r)] = k - kept;
        }
    }

    CondensedMaskUpdate u;
    u.k = k;
    u.ablated = nAblated;
    u.sampledRows = sampledRows;
    u.active = out - nAblated;
    u.indices = torch::empty({out, k}, torch::kLong);
    u.source = torch::full({out, k}, int64_t{-1}, torch::kLong);
    u.alive = torch::empty({out}, torch::kBool);
    int64_t* nip = u.indices.data_ptr<int64_t>();
    int64_t* sp = u.source.data_ptr<int64_t>();
    bool* nap = u.alive.data_ptr<bool>();

    // A row's new inputs (`count` = k of them, ascending) written out, each with its old slot if the
    // row held it before (a connection dropped and regrown in one update keeps its value and state).
    auto writeInputs = [&](int64_t r, const int64_t* inputs, int64_t count) {
        int64_t oldSlot = 0;
        for (int64_t slot = 0; slot < count; ++slot) {
            const int64_t j = inputs[slot];
            nip[r * k + slot] = j;
            if (!ap[r]) continue;
            while (oldSlot < k0 && ip[r * k0 + oldSlot] < j) ++oldSlot;
            if (oldSlot < k0 && ip[r * k0 + oldSlot] == j) sp[r * k + slot] = oldSlot;
        }
    };
    // The inputs row r keeps, ascending (its slots ascend with the input index).
    auto keptInputs = [&](int64_t r, std::vector<int64_t>& kept) {
        kept.clear();
        for (int64_t s = 0; s < k0; ++s)
            if (chosen[r * k0 + s]) kept.push_back(ip[r * k0 + s]);
    };
    bool growth = false;
    {
        std::vector<int64_t> kept;
        for (int64_t r = 0; r < out; ++r) {
            nap[r] = !ablated[static_cast<size_t>(r)];
            if (ablated[static_cast<size_t>(r)]) {
                for (int64_t s = 0; s < k; ++s) nip[r * k + s] = s;
                continue;
            }
            if (need[static_cast<size_t>(r)] > 0) {
                growth = true;
                continue;
            }
            keptInputs(r, kept);
            writeInputs(r, kept.data(), static_cast<int64_t>(kept.size()));
        }
    }
    // Grow: each row takes its missing connections among the inputs it did not keep (just-dropped ones
    // included) by largest |grad|. Rows are independent: split over the worker pool, each range of
    // rows with its own scratch. The work per row is O(k0 + candidates) on sorted input lists, not
    // O(fan_in): a row of huge-mlp-99's fc2 has 65536 inputs and keeps 433.
    struct GrowScratch {
        std::vector<int64_t> kept, grown, merged;
        std::vector<float> score;
        std::unique_ptr<bool[]> picked;
        std::vector<uint32_t> local;
        explicit GrowScratch(int64_t n) : score(static_cast<size_t>(n)), picked(new bool[static_cast<size_t>(n)]) {}
    };
    // Row r's missing connections: its need[r] largest of n candidates, candidate c being input
    // inputOf(c) (ascending in c) with |grad| absGrad(c); the inputs the row keeps score -1 and are
    // never chosen. Then the kept and grown inputs, merged in order, are written out.
    auto growRow = [&](int64_t r, int64_t n, GrowScratch& t, auto&& inputOf, auto&& absGrad) {
        keptInputs(r, t.kept);
        size_t next = 0; // the first kept input not below the candidate's
        for (int64_t c = 0; c < n; ++c) {
            const auto j = static_cast<int64_t>(inputOf(c));
            while (next < t.kept.size() && t.kept[next] < j) ++next;
            t.score[static_cast<size_t>(c)] = next < t.kept.size() && t.kept[next] == j ? -1.0f : absGrad(c);
            t.picked[c] = false;
        }
        selectLargest(t.score.data(), n, need[static_cast<size_t>(r)], t.picked.get(), t.local);
        t.grown.clear();
        for (int64_t c = 0; c < n; ++c)
            if (t.picked[c]) t.grown.push_back(static_cast<int64_t>(inputOf(c)));
        t.merged.resize(t.kept.size() + t.grown.size());
        std::merge(t.kept.begin(), t.kept.end(), t.grown.begin(), t.grown.end(), t.merged.begin());
        writeInputs(r, t.merged.data(), static_cast<int64_t>(t.merged.size()));
    };
    auto growing = [&](int64_t r) { return !ablated[static_cast<size_t>(r)] && need[static_cast<size_t>(r)] > 0; };
    if (growth && cand >= k) {
        // From the candidates: the same selection over the first `cand` entries of the row's order
        // (in ascending input order, so selectLargest breaks ties as it does over the whole row).
        parallelFor(0, out, 16, [&](int64_t begin, int64_t end) {
            GrowScratch t(cand);
            for (int64_t r = begin; r < end; ++r) {
                if (!growing(r)) continue;
                const uint32_t* keys = candKeys.data() + r * cand;
                const uint32_t* inputs = candInputs.data() + r * cand;
                growRow(
                    r, cand, t, [&](int64_t c) { return inputs[c]; },
                    [&](int64_t c) {
                        float a;
                        std::memcpy(&a, keys + c, sizeof a);
                        return a;
                    });
            }
        });
    } else if (growth) {
        blocks.forEach([&](int64_t r0, int64_t r1, const float* g) {
            parallelFor(r0, r1, 16, [&](int64_t begin, int64_t end) {
                GrowScratch t(fanIn);
                for (int64_t r = begin; r < end; ++r) {
                    if (!growing(r)) continue;
                    const float* gr = g + (r - r0) * fanIn;
                    growRow(
                        r, fanIn, t, [](int64_t j) { return j; }, [&](int64_t j) { return std::fabs(gr[j]); });
                }
            });
        });
    }

    u.gradientPasses = blocks.passes();

    // Pruned and regrown against the old mask, row by row on the sorted index lists.
    for (int64_t r = 0; r < out; ++r) {
        const int64_t oldCount = ap[r] ? k0 : 0, newCount = nap[r] ? k : 0;
        int64_t a = 0, b = 0, common = 0;
        while (a < oldCount && b < newCount) {
            const int64_t x = ip[r * k0 + a], y = nip[r * k + b];
            if (x == y) {
                ++common;
                ++a;
                ++b;
            } else if (x < y) {
                ++a;
            } else {
                ++b;
            }
        }
        u.pruned += oldCount - common;
        u.regrown += newCount - common;
    }
    return u;
}

} // namespace srigl
