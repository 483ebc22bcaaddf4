// Weight heatmaps with OpenCV (colour maps, resizing, PNG and video encoding).
#include "sessions/render/weight_renderer.hpp"
#include "sessions/render/video_file.hpp"
#include "sessions/mask/mask_bits.hpp"

#include "sessions/store/store_error.hpp"

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

namespace srigl::sessions {
namespace {

// In the order of cv::ColormapTypes (COLORMAP_AUTUMN = 0 ... COLORMAP_DEEPGREEN = 21).
const char* const kColormaps[] = {"autumn",  "bone",    "jet",     "winter",   "rainbow",  "ocean",
                                  "summer",  "spring",  "cool",    "hsv",      "pink",     "hot",
                                  "parula",  "magma",   "inferno", "plasma",   "viridis",  "cividis",
                                  "twilight", "twilight_shifted", "turbo", "deepgreen"};

bool active(const LayerMaskSnapshot* m, int64_t i) {
    return !m || maskKept(*m, i);
}

void checkShapes(const LayerWeightSnapshot& w, const LayerMaskSnapshot* m) {
    if (w.outFeatures <= 0 || w.fanIn <= 0 || static_cast<int64_t>(w.values.size()) != w.outFeatures * w.fanIn)
        throw StoreError("weights of " + w.name + " are empty or do not match their shape");
    if (m && (m->outFeatures != w.outFeatures || m->fanIn != w.fanIn ||
              static_cast<int64_t>(m->bits.size()) < (w.outFeatures * w.fanIn + 7) / 8))
        throw StoreError("the mask of " + w.name + " does not match its weights");
}

// Largest |weight| inside the mask (1 when all are zero, so the picture is the map's middle).
double absMax(const LayerWeightSnapshot& w, const LayerMaskSnapshot* m) {
    double r = 0.0;
    for (size_t i = 0; i < w.values.size(); ++i)
        if (active(m, static_cast<int64_t>(i)) && std::isfinite(w.values[i]))
            r = std::max(r, std::fabs(static_cast<double>(w.values[i])));
    return r > 0.0 ? r : 1.0;
}

// BGR picture, resized as the mask pictures are (magnified to minSide, averaged down to maxSide).
cv::Mat renderBgr(const LayerWeightSnapshot& w, const LayerMaskSnapshot* m, const WeightRenderOptions& o,
                  double low, double high) {
    checkShapes(w, m);
    const int map = colormapId(o.colormap);
    const int rows = static_cast<int>(w.outFeatures), cols = static_cast<int>(w.fanIn);
    cv::Mat index(rows, cols, CV_8UC1);
    const double scale = high > low ? 255.0 / (high - low) : 0.0;
    for (int r = 0; r < rows; ++r) {
        auto* px = index.ptr<uint8_t>(r);
        for (int c = 0; c < cols; ++c) {
            const double v = w.values[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)];
            const double t = std::isfinite(v) ? (v - low) * scale : 127.5;
            px[c] = static_cast<uint8_t>(std::clamp(std::lround(t), 0L, 255L));
        }
    }
    cv::Mat full;
    cv::applyColorMap(index, full, map);
    const cv::Vec3b background(o.inactive[2], o.inactive[1], o.inactive[0]);
    if (m)
        for (int r = 0; r < rows; ++r) {
            auto* px = full.ptr<cv::Vec3b>(r);
            for (int c = 0; c < cols; ++c)
                if (!active(m, static_cast<int64_t>(r) * cols + c)) px[c] = background;
        }
    cv::Mat out = full;
    const int longer = std::max(rows, cols);
    if (longer > o.maxSide) {
        const double f = static_cast<double>(o.maxSide) / longer;
        cv::resize(full, out, cv::Size(), f, f, cv::INTER_AREA);
    } else if (longer < o.minSide) {
        const int f = (o.minSide + longer - 1) / longer;
        cv::resize(full, out, cv::Size(), f, f, cv::INTER_NEAREST);
    }
    return out;
}

std::pair<double, double> rangeOf(const WeightRenderOptions& o, double absMaxValue) {
    if (o.high > o.low) return {o.low, o.high};
    return {-absMaxValue, absMaxValue};
}

} // namespace

std::vector<std::string> colormapNames() { return {std::begin(kColormaps), std::end(kColormaps)}; }

int colormapId(const std::string& name) {
    std::string all;
    for (int i = 0; i < static_cast<int>(std::size(kColormaps)); ++i) {
        if (name == kColormaps[i]) return i;
        all += (i ? ", " : "") + std::string(kColormaps[i]);
    }
    throw StoreError("unknown colour map '" + name + "' (one of " + all + ")");
}

RgbImage renderWeights(const LayerWeightSnapshot& w, const LayerMaskSnapshot* m, const WeightRenderOptions& o) {
    checkShapes(w, m);
    const auto [low, high] = rangeOf(o, absMax(w, m));
    cv::Mat rgb;
    cv::cvtColor(renderBgr(w, m, o, low, high), rgb, cv::COLOR_BGR2RGB);
    RgbImage image;
    image.width = rgb.cols;
    image.height = rgb.rows;
    image.pixels.assign(rgb.data, rgb.data + rgb.total() * 3);
    return image;
}

void writeWeightVideo(const std::string& path, const std::vector<LayerWeightSnapshot>& frames,
                      const std::vector<LayerMaskSnapshot>& masks, const WeightRenderOptions& o, double fps) {
    if (frames.empty()) throw StoreError(path + ": no weight snapshots to put in a video");
    if (!masks.empty() && masks.size() != frames.size())
        throw StoreError(path + ": " + std::to_string(masks.size()) + " masks for " + std::to_string(frames.size()) +
                         " weight snapshots");
    colormapId(o.colormap);
    double r = 0.0;
    for (size_t i = 0; i < frames.size(); ++i) {
        checkShapes(frames[i], masks.empty() ? nullptr : &masks[i]);
        r = std::max(r, absMax(frames[i], masks.empty() ? nullptr : &masks[i]));
    }
    const auto [low, high] = rangeOf(o, r);
    const bool avi = path.size() > 4 && path.compare(path.size() - 4, 4, ".avi") == 0;
    const int fourcc = avi ? cv::VideoWriter::fourcc('M', 'J', 'P', 'G') : cv::VideoWriter::fourcc('m', 'p', '4', 'v');
    const cv::Mat first = renderBgr(frames[0], masks.empty() ? nullptr : &masks[0], o, low, high);
    VideoFile file(path);
    cv::VideoWriter writer;
    if (!writer.open(file.temporary(), fourcc, fps, first.size()))
        throw StoreError(path + ": no video codec can write this file (try .avi)");
    writer.write(first);
    for (size_t i = 1; i < frames.size(); ++i) {
        const cv::Mat frame = renderBgr(frames[i], masks.empty() ? nullptr : &masks[i], o, low, high);
        if (frame.size() != first.size())
            throw StoreError(path + ": weight snapshots of different shapes cannot share a video");
        writer.write(frame);
    }
    writer.release();
    file.commit();
}

} // namespace srigl::sessions
