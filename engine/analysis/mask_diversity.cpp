// Diversity counts. K(M, N) uses the symmetry of columns: only how many columns hold each count
// matters, so a row step chooses how many columns of each count level receive a one.
#include "engine/analysis/mask_diversity.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>

namespace srigl::nm {

namespace {

__extension__ typedef unsigned __int128 Wide; // a deliberate GCC/Clang extension (-Wpedantic)

uint64_t binomialU64(int n, int k) {
    if (k < 0 || k > n) return 0;
    k = std::min(k, n - k);
    Wide r = 1;
    for (int i = 1; i <= k; ++i) r = r * static_cast<unsigned>(n - k + i) / static_cast<unsigned>(i); // exact at each step
    return static_cast<uint64_t>(r);
}

using Levels = std::vector<int>; // levels[c] = number of columns holding c ones so far

BigUint countTiles(int m, int n) {
    // Start: all m columns at level 0. Each of the m rows moves n columns up one level.
    std::map<Levels, BigUint> cur;
    Levels start(n + 1, 0);
    start[0] = m;
    cur[start] = BigUint(1);
    for (int row = 0; row < m; ++row) {
        std::map<Levels, BigUint> next;
        for (const auto& [state, count] : cur) {
            // Enumerate take[0..n-1] with sum n, take[c] <= state[c], weight = prod C(state[c], take[c]).
            Levels take(n, 0);
            std::function<void(int, int, BigUint)> rec = [&](int level, int left, BigUint w) {
                if (left == 0) {
                    Levels to = state;
                    for (int c = 0; c < n; ++c) {
                        to[c] -= take[c];
                        to[c + 1] += take[c];
                    }
                    next[to] += w;
                    return;
                }
                if (level >= n) return;
                for (int k = 0; k <= std::min(left, state[level]); ++k) {
                    take[level] = k;
                    rec(level + 1, left - k, w * binomialU64(state[level], k));
                }
                take[level] = 0;
            };
            rec(0, n, count);
        }
        cur = std::move(next);
    }
    Levels full(n + 1, 0);
    full[n] = m;
    auto it = cur.find(full);
    return it == cur.end() ? BigUint() : it->second;
}

} // namespace

double log10Binomial(int64_t n, int64_t k) {
    if (k <= 0 || k >= n) return 0.0;
    const double ln = std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
                      std::lgamma(static_cast<double>(n - k) + 1);
    return ln / std::log(10.0);
}

BigUint transposableTileCount(int m, int n) {
    if (m < 1 || m > 64 || n < 0 || n > m) throw std::invalid_argument("transposableTileCount: need 0 <= N <= M <= 64");
    const int small = std::min(n, m - n); // complement: the zeros form an (M - N)-regular matrix
    if (small == 0) return BigUint(1);
    if (log10Binomial(m + small, small) > 5.0 + 1e-9)
        throw std::invalid_argument("transposableTileCount: K(" + std::to_string(m) + "," + std::to_string(n) +
                                    ") is too large to count exactly");
    static std::mutex lock;
    static std::map<std::pair<int, int>, BigUint> cache;
    {
        std::lock_guard<std::mutex> guard(lock);
        auto it = cache.find({m, small});
        if (it != cache.end()) return it->second;
    }
    BigUint k = countTiles(m, small);
    std::lock_guard<std::mutex> guard(lock);
    cache[{m, small}] = k;
    return k;
}

double log10TransposableTileCount(int m, int n) { return transposableTileCount(m, n).log10(); }

double log10MdUnstructured(int64_t total, int64_t kept) { return log10Binomial(total, kept); }

double log10MdConstantFanIn(int64_t rows, int64_t fanIn, int64_t k) {
    return static_cast<double>(rows) * log10Binomial(fanIn, k);
}

double log10MdNm(int64_t rows, int64_t in, NmPattern p) {
    const int64_t full = in / p.m, rest = in % p.m;
    const double perRow = static_cast<double>(full) * log10Binomial(p.m, p.n) + log10Binomial(rest, std::min<int64_t>(p.n, rest));
    return static_cast<double>(rows) * perRow;
}

double log10MdTransposable(int64_t planes, int64_t out, int64_t in, NmPattern p) {
    const double perTile = log10TransposableTileCount(p.m, p.n);
    const int64_t fullTiles = (out / p.m) * (in / p.m);
    const double edgeEntries = static_cast<double>(out * in - fullTiles * p.m * p.m);
    return static_cast<double>(planes) * (static_cast<double>(fullTiles) + edgeEntries / (p.m * p.m)) * perTile;
}

LayerDiversity layerDiversity(const LayerDiversityInput& layer, NmPattern p) {
    const auto& s = layer.shape;
    if (s.size() != 2 && s.size() != 4) throw std::invalid_argument("layerDiversity: shape must be [out, in] or [out, in, kh, kw]");
    const int64_t out = s[0], in = s[1], kernel = s.size() == 4 ? s[2] * s[3] : 1;
    const int64_t fanIn = in * kernel, total = out * fanIn;
    LayerDiversity d;
    d.name = layer.name;
    d.weights = total;
    d.unstructured = log10MdUnstructured(total, std::llround(static_cast<double>(total) * layer.density));
    d.constantFanIn = log10MdConstantFanIn(out, fanIn, std::llround(static_cast<double>(fanIn) * layer.density));
    d.nm = log10MdNm(out * kernel, in, p);
    try {
        d.transposable = log10MdTransposable(kernel, out, in, p);
    } catch (const std::invalid_argument&) {
        d.transposable = -1;
    }
    return d;
}

ModelDiversity modelDiversity(const std::vector<LayerDiversityInput>& layers, NmPattern p) {
    ModelDiversity m;
    m.total.name = "total";
    for (const auto& l : layers) {
        m.layers.push_back(layerDiversity(l, p));
        const auto& d = m.layers.back();
        m.total.weights += d.weights;
        m.total.unstructured += d.unstructured;
        m.total.constantFanIn += d.constantFanIn;
        m.total.nm += d.nm;
        if (m.total.transposable >= 0) m.total.transposable = d.transposable < 0 ? -1 : m.total.transposable + d.transposable;
    }
    return m;
}

} // namespace srigl::nm
